"""Workers (``Engine.work``, what ``vrooli worker`` runs) sharing one store through its leases."""

from __future__ import annotations

from collections import Counter

import anyio
import pytest
from vrooli_sqlalchemy import SQLStorage

from vrooli_core import Engine
from vrooli_core.model import RoutineSource, RunStatus
from vrooli_core.model.events import StepStarted
from vrooli_core.plugins import PluginHost
from vrooli_core.serialization import make_converter
from vrooli_core.testing.conformance.storage_engine import conformance_count

TIMED = RoutineSource(
    """
id = "timed"
start = "a"
[steps.a]
kind = "tool"
tool = "conformance_count"
next = "pause"
[steps.pause]
wait = {timer = 0.3}
next = "b"
[steps.b]
kind = "tool"
tool = "conformance_count"
""",
    "timed.flow.toml",
    "flow",
)


@pytest.mark.anyio
async def test_two_workers_finish_runs_an_engine_left_waiting_on_timers(db_url: str, host: PluginHost) -> None:
    """Two workers wait on a store; an engine starts runs that park on a timer and closes; the
    workers claim each run when its timer is due, and each run is finished by one of them, every
    step once. (The workers open before the runs exist, so they find them only by claiming.)"""
    stop = anyio.Event()
    ready = anyio.Event()
    opened: list[Engine] = []

    async def worker() -> None:
        async with Engine.open(db_url, host=host, tools=[conformance_count]) as engine:
            opened.append(engine)
            if len(opened) == 2:
                ready.set()
            await engine.work(concurrency=2, poll=0.05, stop=stop)

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(worker)
            tg.start_soon(worker)
            await ready.wait()
            async with Engine.open(db_url, host=host, tools=[conformance_count]) as engine:
                runs = [await engine.run(TIMED, {"i": 0}) for _ in range(4)]
                assert {r.status for r in runs} == {RunStatus.WAITING}
            store = SQLStorage.from_url(db_url, converter=make_converter())
            await store.open()
            try:
                while {(await store.get_run(r.id)).status for r in runs} != {RunStatus.COMPLETED}:
                    await anyio.sleep(0.05)
                for run in runs:
                    events = await store.read_events(run.id)
                    assert [e.seq for e in events] == list(range(1, len(events) + 1))
                    started = Counter(e.payload.step for e in events if isinstance(e.payload, StepStarted))
                    assert started == {"a": 1, "b": 1}, f"a step ran twice: {started}"
                    assert (await store.get_run(run.id)).outputs == {"i": 2}
            finally:
                await store.close()
            stop.set()


@pytest.mark.anyio
@pytest.mark.parametrize("round_", range(3))
async def test_workers_opened_after_the_runs_exist_fire_each_timer_once(db_url: str, host: PluginHost, round_: int) -> None:
    """The workers load the runs' timers when they open (their own timer service) and claim the same
    runs through storage: inside one engine both paths meet, and each timer still fires once."""
    async with Engine.open(db_url, host=host, tools=[conformance_count]) as engine:
        runs = [await engine.run(TIMED, {"i": 0}) for _ in range(6)]
    stop = anyio.Event()

    async def worker() -> None:
        async with Engine.open(db_url, host=host, tools=[conformance_count]) as engine:
            await engine.work(concurrency=3, poll=0.02, stop=stop)

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(worker)
            tg.start_soon(worker)
            store = SQLStorage.from_url(db_url, converter=make_converter())
            await store.open()
            try:
                while {(await store.get_run(r.id)).status for r in runs} != {RunStatus.COMPLETED}:
                    await anyio.sleep(0.05)
                for run in runs:
                    events = await store.read_events(run.id)
                    started = Counter(e.payload.step for e in events if isinstance(e.payload, StepStarted))
                    assert started == {"a": 1, "b": 1}, f"a step ran twice: {started}"
                    assert [e.type for e in events].count("wait.resolved") == 1
            finally:
                await store.close()
            stop.set()
