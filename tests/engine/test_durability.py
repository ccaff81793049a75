"""Subroutines, restarts, crashes mid-step, replay and snapshots."""

from __future__ import annotations

from typing import ClassVar

import anyio
import pytest
from _util import flow, payloads, types

from vrooli_core import Engine, tool
from vrooli_core.engine.state import replay
from vrooli_core.errors import StorageError
from vrooli_core.model import RunStatus
from vrooli_core.serialization import make_converter
from vrooli_core.storage.memory import MemoryStorage

pytestmark = pytest.mark.anyio

CHILD = """
id = "child"
inputs = {type = "object", required = ["n"]}
outputs = {type = "object", properties = {doubled = {type = "number"}}}
start = "double"
[steps.double]
kind = "tool"
tool = "double"
next = "gate"
[steps.gate]
choose = [{if = "doubled > 100", next = "review"}, {else = "end"}]
[steps.review]
kind = "human"
next = "end"
[steps.end]
"""

PARENT = """
id = "parent"
start = "call"
[steps.call]
kind = "subroutine"
routine = "child"
in = {n = "value"}
out = {result = "doubled"}
on_error = "fallback"
next = "after"
[steps.after]
[steps.fallback]
"""


@tool
def double(n: float) -> dict:
    if n < 0:
        raise ValueError("negative")
    return {"doubled": n * 2}


async def test_subroutine_runs_a_child_and_maps_its_outputs(host, store):
    async with Engine.open(store, host=host, tools=[double]) as engine:
        await engine.load(flow(CHILD, "child"))
        run = await engine.run(flow(PARENT, "parent"), {"value": 21})
        assert run.status is RunStatus.COMPLETED
        assert run.outputs["result"] == 42
        [child] = await engine.list_runs(parent_run_id=run.id)
        assert child.status is RunStatus.COMPLETED and child.parent_token == "t1"
        assert child.inputs == {"n": 21}


async def test_child_failure_reaches_the_parents_error_route(host, store):
    async with Engine.open(store, host=host, tools=[double]) as engine:
        await engine.load(flow(CHILD, "child"))
        run = await engine.run(flow(PARENT, "parent"), {"value": -1})
    assert run.status is RunStatus.COMPLETED
    assert run.outputs["error"]["code"] == "ValueError"


async def test_child_waiting_on_a_person_parks_the_parent_until_answered(host, store):
    async with Engine.open(store, host=host, tools=[double]) as engine:
        await engine.load(flow(CHILD, "child"))
        run = await engine.run(flow(PARENT, "parent"), {"value": 500})
        assert run.status is RunStatus.WAITING
        [task] = await engine.tasks()
        [child] = await engine.list_runs(parent_run_id=run.id)
        assert task.run_id == child.id
    # Answer it from a fresh engine: both runs are rebuilt from storage.
    async with Engine.open(store, host=host, tools=[double]) as engine:
        await engine.complete_task(task.id, {"ok": True})
        run = await engine.get_run(run.id)
        assert run.status is RunStatus.COMPLETED and run.outputs["result"] == 1000


async def test_cancelling_the_parent_cancels_the_child(host, store):
    async with Engine.open(store, host=host, tools=[double]) as engine:
        await engine.load(flow(CHILD, "child"))
        run = await engine.run(flow(PARENT, "parent"), {"value": 500})
        [child] = await engine.list_runs(parent_run_id=run.id)
        await engine.cancel(run.id)
        assert (await engine.get_run(child.id)).status is RunStatus.CANCELLED
        assert await engine.tasks() == []


async def test_missing_subroutine_is_a_routable_failure(host, store):
    async with Engine.open(store, host=host, tools=[double]) as engine:
        run = await engine.run(flow(PARENT, "parent"), {"value": 1})
    assert run.status is RunStatus.COMPLETED
    assert run.outputs["error"]["code"] == "NotFoundError"


HUMAN_CHAIN = """
id = "hc"
start = "a"
[steps.a]
kind = "tool"
tool = "count"
next = "ask"
[steps.ask]
kind = "human"
next = "b"
[steps.b]
kind = "tool"
tool = "count"
"""


async def test_resume_in_a_new_engine_does_not_repeat_completed_steps(host, store):
    calls: list[str] = []

    @tool
    def count(ctx=None) -> dict:
        calls.append(ctx.step.id)
        return {"calls": len(calls)}

    async with Engine.open(store, host=host, tools=[count]) as engine:
        run = await engine.run(flow(HUMAN_CHAIN))
        [task] = await engine.tasks()
    async with Engine.open(store, host=host, tools=[count]) as engine:
        run = await engine.complete_task(task.id, {})
    assert run.status is RunStatus.COMPLETED
    assert calls == ["a", "b"]


async def test_a_step_in_flight_at_a_crash_runs_again_with_the_same_idempotency_key(host, store):
    keys: list[str] = []
    entered = anyio.Event()

    @tool
    async def charge(ctx=None) -> dict:
        keys.append(ctx.idempotency_key)
        if len(keys) == 1:
            entered.set()
            await anyio.sleep(100)  # the process "dies" here
        return {"charged": True}

    text = 'id = "pay"\nstart = "charge"\n[steps.charge]\nkind = "tool"\ntool = "charge"\nnext = "done"\n[steps.done]\n'
    async with anyio.create_task_group() as tg:

        async def doomed() -> None:
            async with Engine.open(store, host=host, tools=[charge]) as engine:
                await engine.run(flow(text))

        tg.start_soon(doomed)
        with anyio.fail_after(5):
            await entered.wait()
        tg.cancel_scope.cancel()  # abrupt stop: no step.completed was recorded

    async with Engine.open(store, host=host, tools=[charge]) as engine:
        [run] = await engine.list_runs()
        assert run.status is RunStatus.RUNNING
        run = await engine.resume(run.id)
        events = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED
    assert keys[0] == keys[1] == f"{run.id}:t1:charge:1"
    assert len(payloads(events, "step.started")) == 1  # the same attempt continued
    assert run.steps == 2


async def test_replayed_state_equals_the_live_state(host, store):
    @tool
    def inc(i: int = 0) -> dict:
        return {"i": i + 1}

    text = """
id = "mix"
start = "split"
[steps.split]
next = ["a", "b"]
[steps.a]
kind = "tool"
tool = "inc"
next = "j"
[steps.b]
wait = {signal = "go"}
next = "j"
[steps.j]
join = 2
next = "loop"
[steps.loop]
choose = [{if = "i < 3", next = "a2"}, {else = "end"}]
[steps.a2]
kind = "tool"
tool = "inc"
next = "loop"
[steps.end]
"""
    async with Engine.open(store, host=host, tools=[inc]) as engine:
        run = await engine.run(flow(text))
        live = engine._runs[run.id].state
        rebuilt = replay(run.id, await engine.history(run.id))
        assert (rebuilt.tokens, rebuilt.variables, rebuilt.nav, rebuilt.waits, rebuilt.steps) == (
            live.tokens, live.variables, live.nav, live.waits, live.steps,
        )
        await engine.send_signal("go")
        live = engine._runs[run.id].state
        rebuilt = replay(run.id, await engine.history(run.id))
    assert live.status is rebuilt.status is RunStatus.COMPLETED
    assert rebuilt.variables == live.variables == {"i": 3}
    assert rebuilt.steps == live.steps


class SnapshottingStorage(MemoryStorage):
    name: ClassVar[str] = "snapshotting"
    snapshot_every: ClassVar[int | None] = 4


async def test_resume_from_a_snapshot(host):
    conv = make_converter()
    storage = SnapshottingStorage(converter=conv, verify=True)
    text = HUMAN_CHAIN.replace('kind = "tool"\ntool = "count"\n', "")
    async with Engine.open(storage, host=host) as engine:
        run = await engine.run(flow(text))
        [task] = await engine.tasks()
    snap = await storage.load_snapshot(run.id)
    assert snap is not None and snap[0] % 4 == 0
    async with Engine.open(storage, host=host) as engine:
        run = await engine.complete_task(task.id, {"fine": 1})
        events = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED
    assert run.outputs == {"fine": 1}
    assert types(events)[-1] == "run.completed"


class FailingStorage(MemoryStorage):
    """Fails the commit of the n-th event (counting every event of every run)."""

    fail_at: int = 0
    seen: int = 0

    async def commit(self, commit):
        for _ in commit.events:
            self.seen += 1
            if self.seen == self.fail_at:
                raise StorageError("disk full")
        await super().commit(commit)


async def test_a_failed_write_leaves_recorded_history_intact_and_the_run_resumable(host):
    conv = make_converter()
    storage = FailingStorage(converter=conv, verify=True)
    storage.fail_at = 5
    text = 'id = "c"\nstart = "a"\n[steps.a]\nnext = "b"\n[steps.b]\nnext = "c"\n[steps.c]\nnext = "d"\n[steps.d]\n'
    async with Engine.open(storage, host=host, batch_events=1) as engine:  # a commit per transition
        with pytest.raises(StorageError, match="disk full"):
            await engine.run(flow(text))
        [run] = await engine.list_runs()
        recorded = await engine.history(run.id)
        assert types(recorded) == ["run.created", "run.decided", "step.completed", "step.completed"]
        run = await engine.resume(run.id)
        events = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED
    assert [p.step for p in payloads(events, "step.completed")] == ["a", "b", "c", "d"]
