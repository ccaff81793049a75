"""Storage conformance, part two: real engine runs on the backend, across restarts."""

from __future__ import annotations

from collections import Counter
from typing import Any

from vrooli_core.engine import Engine
from vrooli_core.execution.tools import tool
from vrooli_core.model import RoutineSource, Run, RunStatus, WaitKind
from vrooli_core.model.events import StepStarted
from vrooli_core.storage.base import StorageBackend
from vrooli_core.testing.conformance._harness import gapless, host_with
from vrooli_core.testing.conformance._storage_base import StorageSuiteBase, Stores
from vrooli_core.testing.fakes import FakeClock

__all__ = ["StorageEngineTests"]

#: A flow: two tool steps, a human task, a timer, a last tool step.
ROUTINE = """
id = "conformance-storage"
start = "a"
outputs = {properties = {i = {type = "integer"}, ok = {type = "boolean"}}}
[steps.a]
kind = "tool"
tool = "conformance_count"
next = "b"
[steps.b]
kind = "tool"
tool = "conformance_count"
next = "review"
[steps.review]
kind = "human"
title = "Check the count"
next = "pause"
[steps.pause]
wait = {timer = 30}
next = "c"
[steps.c]
kind = "tool"
tool = "conformance_count"
"""

FAILING = """
id = "conformance-failing"
start = "a"
[steps.a]
kind = "tool"
tool = "conformance_count"
args = {i = -1}
"""


@tool
def conformance_count(i: int = 0) -> dict[str, int]:
    """Count one up; refuses negative numbers."""
    if i < 0:
        raise ValueError("negative count")
    return {"i": i + 1}


class StorageEngineTests(StorageSuiteBase, suite=True):
    """Engine runs on the backend under test (part of ``StorageConformance``)."""

    async def _engine_on(self, stores: Stores, *, snapshot_every: int | None = None) -> Any:
        backend: StorageBackend = await stores.new(opened=False)
        if snapshot_every is not None:
            backend.snapshot_every = snapshot_every  # type: ignore[misc]
        return Engine.open(backend, host=host_with(flow=True), tools=[conformance_count], clock=FakeClock())

    def test_engine_run_survives_restarts(self) -> None:
        """A run parks on a human task; a second engine (a restart) answers it, and the run parks on
        a timer; a third engine fires the timer and the run completes. Nothing is repeated, nothing
        lost."""

        async def body(_: StorageBackend, stores: Stores) -> None:
            async with await self._engine_on(stores) as engine:
                run = await engine.run(_source(), {"i": 0})
                assert run.status is RunStatus.WAITING, (run.status, run.error)
                assert (await engine.variables(run.id))["i"] == 2
            async with await self._engine_on(stores) as engine:
                tasks = await engine.tasks()
                assert [t.run_id for t in tasks] == [run.id] and tasks[0].spec.kind is WaitKind.HUMAN
                run = await engine.complete_task(tasks[0].id, {"ok": True})
                assert run.status is RunStatus.WAITING, (run.status, run.error)
                assert await engine.tasks() == []
            async with await self._engine_on(stores) as engine:
                await engine.advance_clock(31)
                run = await engine.get_run(run.id)
                events = await engine.history(run.id)
            assert run.status is RunStatus.COMPLETED, (run.status, run.error, [e.type for e in events])
            assert run.outputs == {"i": 3, "ok": True}
            assert gapless(events)
            started = Counter(e.payload.step for e in events if isinstance(e.payload, StepStarted))
            assert started == {"a": 1, "b": 1, "review": 1, "c": 1}, f"steps ran again after a restart: {started}"
            store = await stores.new()
            assert (await store.get_run(run.id)).status is RunStatus.COMPLETED
            assert await store.find_waits(run_id=run.id) == []
            assert [r.id for r in await store.list_runs(status=[RunStatus.COMPLETED])] == [run.id]
            assert [r.id for r in await store.list_routines("conformance-storage")]

        self.check(body)

    def test_engine_resumes_from_snapshot(self) -> None:
        """With snapshots every two events, a restarted engine rebuilds the run from the latest
        snapshot plus the events after it."""

        async def body(_: StorageBackend, stores: Stores) -> None:
            async with await self._engine_on(stores, snapshot_every=2) as engine:
                run = await engine.run(_source(), {"i": 0})
                assert run.status is RunStatus.WAITING, (run.status, run.error)
            store = await stores.new()
            snapshot = await store.load_snapshot(run.id)
            assert snapshot is not None, "the engine saved no snapshot"
            assert snapshot[0] % 2 == 0 and snapshot[0] <= (await store.get_run(run.id)).last_seq
            async with await self._engine_on(stores, snapshot_every=2) as engine:
                tasks = await engine.tasks(run.id)
                await engine.complete_task(tasks[0].id, {"ok": True})
                await engine.advance_clock(31)
                run = await engine.get_run(run.id)
                events = await engine.history(run.id)
            assert run.status is RunStatus.COMPLETED, (run.status, run.error)
            assert run.outputs == {"i": 3, "ok": True}
            assert gapless(events)

        self.check(body)

    def test_engine_failed_and_cancelled_runs_stay_readable(self) -> None:
        """A failed and a cancelled run keep their full history and error, also for a new engine."""

        async def body(_: StorageBackend, stores: Stores) -> None:
            async with await self._engine_on(stores) as engine:
                failed = await engine.run(_source(FAILING, "failing.flow.toml"))
                waiting = await engine.run(_source(), {"i": 0})
                cancelled = await engine.cancel(waiting.id, "no longer needed")
            assert failed.status is RunStatus.FAILED and failed.error is not None
            assert cancelled.status is RunStatus.CANCELLED
            async with await self._engine_on(stores) as engine:
                again = await engine.get_run(failed.id)
                assert again.status is RunStatus.FAILED and again.error == failed.error
                assert (await engine.history(failed.id))[-1].type == "run.failed"
                assert (await engine.history(cancelled.id))[-1].type == "run.cancelled"
                assert await engine.tasks() == [], "a cancelled run's task is still open"
                listed: list[Run] = await engine.list_runs(status=[RunStatus.FAILED, RunStatus.CANCELLED])
                assert {r.id for r in listed} == {failed.id, cancelled.id}

        self.check(body)


def _source(text: str = ROUTINE, path: str = "conformance-storage.flow.toml") -> RoutineSource:
    return RoutineSource(text, path, "flow")
