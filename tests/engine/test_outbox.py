"""The outbox: a thrown message or signal is delivered even when the engine that threw it dies
between recording the throw and delivering it (``vrooli_core.engine.outbox``)."""

from __future__ import annotations

import pytest
from _util import MESSAGE, SIGNAL, ThrowerPlugin, flow, payloads

from vrooli_core import Engine
from vrooli_core.engine.outbox import started_run_id
from vrooli_core.model import RoutineSource, RunStatus, Wait, WaitKind

pytestmark = pytest.mark.anyio


@pytest.fixture
def host(host):
    host.register(ThrowerPlugin(), "thrower")
    return host


async def _throw_and_die(store, host, source: str, monkeypatch) -> Wait:
    """Run a thrower in an engine that records the throw and dies before delivering it."""
    with monkeypatch.context() as patched:

        async def dies(self, entries):
            raise _Died

        patched.setattr(Engine, "_send", dies)
        async with Engine.open(store, host=host) as engine:
            with pytest.raises(_Died):
                await engine.run(RoutineSource(source, "x.throw"))
            [entry] = await engine.storage.find_waits(kinds=(WaitKind.OUTBOX,))
            return entry


class _Died(Exception):
    pass


async def test_a_throw_is_delivered_and_leaves_nothing_behind(host, store):
    async with Engine.open(store, host=host) as engine:
        waiting = await engine.run(flow(MESSAGE), {"order_id": "B"})
        thrower = await engine.run(RoutineSource("message paid B", "x.throw"))
        assert (await engine.get_run(waiting.id)).status is RunStatus.COMPLETED
        assert await engine.storage.find_waits(kinds=(WaitKind.OUTBOX,)) == []
        # The thrower's lease was kept for the delivery and let go after it.
        assert await engine.storage.acquire_lease(thrower.id, "other", now=0.0, until=1.0) is None


async def test_a_message_whose_engine_died_is_delivered_when_an_engine_opens(host, store, monkeypatch):
    async with Engine.open(store, host=host) as engine:
        waiting = await engine.run(flow(MESSAGE), {"order_id": "B"})
    thrower_id = (await _throw_and_die(store, host, "message paid B", monkeypatch)).run_id
    async with Engine.open(store, host=host) as engine:
        # Opening delivered what the dead engine left: the run waiting for it moved on.
        assert (await engine.get_run(waiting.id)).status is RunStatus.COMPLETED
        [resolved] = payloads(await engine.history(waiting.id), "wait.resolved")
        assert resolved.outcome.output == {"from": thrower_id}
        assert await engine.storage.find_waits(kinds=(WaitKind.OUTBOX,)) == []


async def test_a_worker_delivers_what_a_dead_engine_left(host, store, monkeypatch):
    import anyio

    async with Engine.open(store, host=host) as engine:
        waiting = [await engine.run(flow(SIGNAL)) for _ in range(2)]
    await _throw_and_die(store, host, "signal go -", monkeypatch)
    with monkeypatch.context() as patched:

        async def nothing_left(self):
            return 0

        patched.setattr(Engine, "_send_left", nothing_left)  # not at open: the worker loop must do it
        async with Engine.open(store, host=host) as engine:
            assert {(await engine.get_run(r.id)).status for r in waiting} == {RunStatus.WAITING}
            patched.undo()
            stop = anyio.Event()
            async with anyio.create_task_group() as tg:
                tg.start_soon(lambda: engine.work(poll=0.01, stop=stop))
                with anyio.fail_after(10):
                    while await engine.storage.find_waits(kinds=(WaitKind.OUTBOX,)):
                        await anyio.sleep(0.01)
                stop.set()
            assert {(await engine.get_run(r.id)).status for r in waiting} == {RunStatus.COMPLETED}


async def test_a_signal_reaches_only_waits_registered_before_it_was_thrown(host, store, monkeypatch):
    async with Engine.open(store, host=host) as engine:
        before = await engine.run(flow(SIGNAL))
    await _throw_and_die(store, host, "signal go -", monkeypatch)
    with monkeypatch.context() as patched:

        async def later(self):
            return 0

        patched.setattr(Engine, "_send_left", later)
        async with Engine.open(store, host=host) as engine:
            after = await engine.run(flow(SIGNAL))  # registered after the throw
    async with Engine.open(store, host=host) as engine:
        assert (await engine.get_run(before.id)).status is RunStatus.COMPLETED
        assert (await engine.get_run(after.id)).status is RunStatus.WAITING


async def test_delivering_again_does_not_start_a_run_twice(host, store, monkeypatch):
    starter = RoutineSource("message ping - starts", "starter.throw")
    async with Engine.open(store, host=host) as engine:
        await engine.load(starter)
    entry = await _throw_and_die(store, host, "message ping -", monkeypatch)
    async with Engine.open(store, host=host) as engine:  # delivers it: no run waits, so it starts one
        [run] = await engine.list_runs(routine_id="message-ping---starts")
        assert run.id == started_run_id(entry.id, "message-ping---starts")
        assert run.status is RunStatus.COMPLETED
        await engine._deliver(entry)  # a second delivery of the same entry
        assert [r.id for r in await engine.list_runs(routine_id="message-ping---starts")] == [run.id]
        # Another throw is another entry: it starts another run.
        await engine.run(RoutineSource("message ping -", "x.throw"))
        assert len(await engine.list_runs(routine_id="message-ping---starts")) == 2
