"""Several engines on one store: leases keep two engines from moving one run at once, and
``Engine.work`` (``vrooli worker``) takes over runs that an engine left behind or whose timer is due."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator

import anyio
import pytest
from _util import flow

from vrooli_core import Engine, tool
from vrooli_core.errors import RunError, StorageError
from vrooli_core.model import RunStatus

pytestmark = pytest.mark.anyio

APPROVE = """
[steps.ask]
kind = "human"
next = "done"
[steps.done]
"""

SLOW = """
[steps.slow]
kind = "tool"
tool = "slow"
next = "done"
[steps.done]
"""

TIMED = """
[steps.pause]
wait = {timer = 0.3}
next = "done"
[steps.done]
"""

gate: dict[str, anyio.Event] = {}


@tool
async def slow() -> dict:
    await gate["open"].wait()
    return {"slow": True}


async def test_an_engine_finishes_a_run_another_one_started(host, store):
    async with Engine.open(store, host=host, lease=0.5) as first:
        run = await first.run(flow(APPROVE))
        [task] = await first.tasks(run_id=run.id)
        async with Engine.open(store, host=host, lease=0.5) as second:
            # The first engine let the run go when it came to rest: the second one answers at once.
            done = await second.complete_task(task.id, {})
            assert done.status is RunStatus.COMPLETED
        # The first engine's cached copy is brought up to date from storage.
        assert (await first.get_run(run.id)).status is RunStatus.COMPLETED
        assert [e.type for e in await first.history(run.id)][-1] == "run.completed"


async def test_a_run_another_engine_moves_is_refused_until_its_lease_ends(host, store):
    gate["open"] = anyio.Event()
    async with Engine.open(store, host=host, lease=0.2, tools=[slow]) as mover:
        run = await mover.start(flow(SLOW))
        async with Engine.open(store, host=host, lease=0.2) as other:
            started = time.monotonic()
            with pytest.raises(RunError) as refused:
                await other.cancel(run.id)
            assert refused.value.code == "leased" and mover.owner in str(refused.value)
            assert time.monotonic() - started >= 0.4  # it waited two lease lengths (the lease is renewed)
            gate["open"].set()
            finished = await mover.wait(run.id, finished=True)
            assert finished.status is RunStatus.COMPLETED
            cancelled = await other.cancel((await other.start(flow(APPROVE))).id)
            assert cancelled.status is RunStatus.CANCELLED


async def test_a_worker_takes_over_a_run_whose_engine_died(host, store):
    gate["open"] = anyio.Event()
    async with Engine.open(store, host=host, lease=0.3, tools=[slow]) as dying:
        run = await dying.start(flow(SLOW))
        await anyio.sleep(0.05)
        dying._held.clear()  # it dies: its lease is never released, only runs out
    gate["open"].set()
    async with Engine.open(store, host=host, lease=0.3, tools=[slow]) as worker, working(worker):
        done = await worker.wait(run.id, finished=True, timeout=5)
    assert done.status is RunStatus.COMPLETED
    history = await _history(store, host, run.id)
    assert [e.payload.step for e in history if e.type == "step.completed"] == ["slow", "done"]


async def test_a_worker_fires_a_timer_another_engine_registered(host, store):
    async with Engine.open(store, host=host) as first:
        run = await first.run(flow(TIMED))
        assert run.status is RunStatus.WAITING
    async with Engine.open(store, host=host) as worker, working(worker):
        done = await worker.wait(run.id, finished=True, timeout=5)
    assert done.status is RunStatus.COMPLETED


async def test_workers_share_runs_without_moving_one_twice(host, store):
    async with Engine.open(store, host=host) as client:
        runs = [await client.run(flow(TIMED)) for _ in range(12)]
    engines = []
    stop = anyio.Event()
    async with anyio.create_task_group() as tg:
        for _ in range(3):
            engine = await tg.start(_worker, store, host, stop)
            engines.append(engine)
        with anyio.fail_after(10):
            for run in runs:
                while (await engines[0].storage.get_run(run.id)).status is not RunStatus.COMPLETED:
                    await anyio.sleep(0.05)
        stop.set()
    for run in runs:
        history = await _history(store, host, run.id)
        assert [e.type for e in history].count("run.completed") == 1
        steps = [e.payload.step for e in history if e.type == "step.completed"]
        assert "done" in steps and len(steps) == len(set(steps)), steps
        assert [e.type for e in history].count("wait.resolved") == 1


@contextlib.asynccontextmanager
async def working(engine: Engine, poll: float = 0.02) -> AsyncIterator[None]:
    """``engine.work()`` in the background while the block runs."""
    stop = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: engine.work(poll=poll, stop=stop))
        try:
            yield
        finally:
            stop.set()


async def _worker(url, host, stop, *, task_status=anyio.TASK_STATUS_IGNORED):
    async with Engine.open(url, host=host) as engine:
        task_status.started(engine)
        await engine.work(concurrency=2, poll=0.05, stop=stop)


async def _history(url, host, run_id):
    async with Engine.open(url, host=host) as engine:
        return await engine.history(run_id)


async def test_an_engine_that_does_not_move_runs_leaves_them_to_a_worker(host, store):
    async with Engine.open(store, host=host, move_runs=False) as client:
        started = await client.start(flow(APPROVE))
        assert started.status is RunStatus.RUNNING
        ran = await client.run(flow(TIMED))
        assert ran.status is RunStatus.WAITING and await client.tasks() == []  # on its timer
        async with Engine.open(store, host=host) as worker, working(worker):
            with anyio.fail_after(5):
                while not await client.tasks(run_id=started.id):
                    await anyio.sleep(0.02)
            [task] = await client.tasks(run_id=started.id)
            # Answering records the answer; the worker moves the run on.
            assert (await client.complete_task(task.id, {})).status is RunStatus.RUNNING
            for run in (started, ran):
                assert (await worker.wait(run.id, finished=True, timeout=5)).status is RunStatus.COMPLETED
        history = await client.history(started.id)
        assert [e.payload.step for e in history if e.type == "step.completed"] == ["done"]


async def test_a_store_that_fails_for_a_while_does_not_stop_a_worker(host, store, monkeypatch):
    async with Engine.open(store, host=host, move_runs=False) as client:
        run = await client.start(flow(SLOW.replace('kind = "tool"\ntool = "slow"\n', "")))
    async with Engine.open(store, host=host, lease=0.3) as worker:
        real = worker.storage.claim_runs
        failures = 0

        async def flaky(*args, **kwargs):
            nonlocal failures
            if failures < 3:
                failures += 1
                raise StorageError("database is locked")
            return await real(*args, **kwargs)

        monkeypatch.setattr(worker.storage, "claim_runs", flaky)
        async with working(worker):
            done = await worker.wait(run.id, finished=True, timeout=5)
    assert failures == 3 and done.status is RunStatus.COMPLETED


async def test_one_run_has_one_runtime_when_two_paths_load_it_at_once(host, store):
    """A due timer and a worker's claim can ask an engine for the same stored run at the same moment:
    both get the one runtime (two would move the run twice, and the steps of the one whose commit
    fails would find no live run behind them)."""
    async with Engine.open(store, host=host) as first:
        run = await first.run(flow(APPROVE))
    async with Engine.open(store, host=host) as second:
        got: list[object] = []
        load_run = second.storage.load_run

        async def slow_load(*args, **kwargs):  # a database answers later: the loads overlap
            await anyio.sleep(0.01)
            return await load_run(*args, **kwargs)

        second.storage.load_run = slow_load

        async def load() -> None:
            got.append(await second._runtime(run.id, own=True, wait=1))

        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(load)
        assert len(got) == 4 and all(rt is got[0] for rt in got)
        assert second._runs[run.id] is got[0] and not second._loading
