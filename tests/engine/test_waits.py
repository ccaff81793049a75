"""Human tasks, messages, signals, timers and conditions."""

from __future__ import annotations

import pytest
from _util import MESSAGE, SIGNAL, flow, payloads

from vrooli_core import Engine, FakeClock
from vrooli_core.errors import NotFoundError, RunError
from vrooli_core.model import RunStatus

pytestmark = pytest.mark.anyio

HUMAN = """
id = "review"
start = "review"
[steps.review]
kind = "human"
title = "Review the draft"
description = "Is it good?"
form = {schema = {type = "object", required = ["verdict"], properties = {verdict = {enum = ["ok", "redo"]}}}}
out = {verdict = "verdict"}
next = "route"
[steps.route]
choose = [{if = "verdict == 'ok'", next = "publish"}, {else = "rework"}]
[steps.publish]
[steps.rework]
"""


async def test_human_task_waits_validates_its_answer_and_continues(host, store):
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(HUMAN))
        assert run.status is RunStatus.WAITING
        [task] = await engine.tasks()
        assert task.spec.name == "Review the draft"
        assert task.spec.form["description"] == "Is it good?"
        with pytest.raises(RunError, match="does not match its form"):
            await engine.complete_task(task.id, {"verdict": "meh"})
        assert (await engine.get_run(run.id)).status is RunStatus.WAITING  # nothing recorded
        run = await engine.complete_task(task.id, {"verdict": "ok", "note": "ignored: not mapped"})
        assert run.status is RunStatus.COMPLETED
        assert run.outputs == {"verdict": "ok"}
        assert await engine.tasks() == []
        with pytest.raises(NotFoundError):
            await engine.complete_task(task.id, {"verdict": "ok"})
        events = await engine.history(run.id)
    assert [p.step for p in payloads(events, "step.suspended")] == ["review"]
    assert [p.step for p in payloads(events, "step.completed")] == ["publish"]


async def test_message_correlates_to_the_waiting_run(host, store):
    async with Engine.open(store, host=host) as engine:
        a = await engine.run(flow(MESSAGE), {"order_id": "A-1"})
        b = await engine.run(flow(MESSAGE), {"order_id": "B-2"})
        assert a.status is b.status is RunStatus.WAITING
        with pytest.raises(RunError, match="matches 2 runs"):
            await engine.send_message("paid")
        assert await engine.send_message("paid", correlation="nope") == []
        [done] = await engine.send_message("paid", {"amount": 3}, correlation="B-2")
        assert done.id == b.id and done.status is RunStatus.COMPLETED
        assert (await engine.get_run(a.id)).status is RunStatus.WAITING
        events = await engine.history(b.id)
    resolved = payloads(events, "wait.resolved")[0]
    assert resolved.outcome.output == {"amount": 3}
    assert resolved.outcome.trigger == "placed"


async def test_signal_is_broadcast(host, store):
    async with Engine.open(store, host=host) as engine:
        runs = [await engine.run(flow(SIGNAL)) for _ in range(3)]
        assert {r.status for r in runs} == {RunStatus.WAITING}
        moved = await engine.send_signal("go")
        assert sorted(r.id for r in moved) == sorted(r.id for r in runs)
        assert {r.status for r in moved} == {RunStatus.COMPLETED}
        assert await engine.send_signal("go") == []


TIMER = """
id = "timer"
start = "sleep"
[steps.sleep]
wait = {timer = 3600}
next = "wake"
[steps.wake]
"""


async def test_timer_fires_on_the_engine_clock(host, store):
    clock = FakeClock()
    async with Engine.open(store, host=host, clock=clock) as engine:
        run = await engine.run(flow(TIMER))
        await engine.advance_clock(3599)
        assert (await engine.get_run(run.id)).status is RunStatus.WAITING
        await engine.advance_clock(1)
        assert (await engine.get_run(run.id)).status is RunStatus.COMPLETED


async def test_timers_survive_a_restart(host, store):
    clock = FakeClock()
    async with Engine.open(store, host=host, clock=clock) as engine:
        run = await engine.run(flow(TIMER))
    async with Engine.open(store, host=host, clock=clock) as engine:
        await engine.advance_clock(4000)
        assert (await engine.get_run(run.id)).status is RunStatus.COMPLETED


async def test_real_clock_timer_fires_in_the_background(host, store):
    import anyio

    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(TIMER.replace("3600", "0.05")))
        assert run.status is RunStatus.WAITING
        with anyio.fail_after(5):
            run = await engine.wait(run.id, finished=True)
    assert run.status is RunStatus.COMPLETED


BOUNDARY = """
id = "deadline"
start = "approve"
[steps.approve]
kind = "human"
boundary = {timer = 60, next = "escalate"}
next = "approved"
[steps.approved]
[steps.escalate]
"""


async def test_interrupting_boundary_timer_cancels_the_task(host, store):
    clock = FakeClock()
    async with Engine.open(store, host=host, clock=clock) as engine:
        run = await engine.run(flow(BOUNDARY))
        [task] = await engine.tasks()
        await engine.advance_clock(61)
        run = await engine.get_run(run.id)
        assert run.status is RunStatus.COMPLETED
        assert await engine.tasks() == []
        with pytest.raises(NotFoundError):
            await engine.complete_task(task.id, {})
        events = await engine.history(run.id)
    assert [p.step for p in payloads(events, "step.completed")] == ["escalate"]


async def test_boundary_is_dropped_when_the_task_completes_first(host, store):
    clock = FakeClock()
    async with Engine.open(store, host=host, clock=clock) as engine:
        await engine.run(flow(BOUNDARY))
        [task] = await engine.tasks()
        run = await engine.complete_task(task.id, {})
        assert run.status is RunStatus.COMPLETED
        await engine.advance_clock(61)  # the timer is gone with its token: nothing happens
        events = await engine.history(run.id)
    assert [p.step for p in payloads(events, "step.completed")] == ["approved"]
    assert [e.type for e in events].count("wait.resolved") == 1


CONDITION = """
id = "cond"
start = "hold"
[steps.hold]
wait = {condition = "stock > 10"}
next = "sell"
[steps.sell]
"""


async def test_condition_wait_resolves_when_variables_change(host, store):
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(CONDITION), {"stock": 3})
        assert run.status is RunStatus.WAITING
        run = await engine.set_variables(run.id, {"stock": 5}, reason="delivery")
        assert run.status is RunStatus.WAITING
        run = await engine.set_variables(run.id, {"stock": 50})
        assert run.status is RunStatus.COMPLETED


async def test_condition_already_true_resolves_at_once(host, store):
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(CONDITION), {"stock": 30})
    assert run.status is RunStatus.COMPLETED


async def test_condition_that_cannot_be_evaluated_fails_the_run(host, store):
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(CONDITION))  # no "stock" variable
    assert run.status is RunStatus.FAILED
    assert run.error.code == "expression_error"
    assert "stock" in run.error.message


async def test_thrown_signals_and_messages_reach_waiting_runs(host, store):
    from _util import ThrowerPlugin

    from vrooli_core.model import RoutineSource

    host.register(ThrowerPlugin(), "thrower")
    async with Engine.open(store, host=host) as engine:
        waiting = [await engine.run(flow(SIGNAL)) for _ in range(2)]
        a = await engine.run(flow(MESSAGE), {"order_id": "A"})
        b = await engine.run(flow(MESSAGE), {"order_id": "B"})
        await engine.run(RoutineSource("signal go -", "x.throw"))
        assert {(await engine.get_run(r.id)).status for r in waiting} == {RunStatus.COMPLETED}
        thrower = await engine.run(RoutineSource("message paid B", "y.throw"))
        assert (await engine.get_run(b.id)).status is RunStatus.COMPLETED
        assert (await engine.get_run(a.id)).status is RunStatus.WAITING
        [resolved] = payloads(await engine.history(b.id), "wait.resolved")
        assert resolved.outcome.output == {"from": thrower.id}


async def test_token_locals_are_step_inputs_only(host, store):
    from vrooli_core import tool
    from vrooli_core.engine import Navigator
    from vrooli_core.model import Decision, Graph, NewToken, RoutineDef, RoutineSource, StepDef, StepKind
    from vrooli_core.plugins import hookimpl

    seen = []

    @tool
    def look(item: str, shared: int) -> dict:
        seen.append((item, shared))
        return {}

    class Each(Navigator):
        name = "each"
        suffixes = (".each",)

        def load(self, source):
            return Graph(RoutineDef("each", self.name, source.content_hash), {"s": StepDef("s", StepKind.TOOL, config={"tool": "look"})})

        def start(self, graph, view):
            return Decision(create=tuple(NewToken("s", locals={"item": i}) for i in ("a", "b")))

        def next(self, graph, view, token, outcome):
            return Decision()

    class Plugin:
        @hookimpl
        def vrooli_register_navigators(self):
            return [Each]

    host.register(Plugin(), "each")
    async with Engine.open(store, host=host, tools=[look]) as engine:
        run = await engine.run(RoutineSource("", "x.each"), {"shared": 7})
    assert sorted(seen) == [("a", 7), ("b", 7)]
    assert "item" not in run.outputs


async def test_the_tasks_of_a_run_can_include_those_of_its_child_runs(host, store):
    child = flow('[steps.ask]\nkind = "human"\ntitle = "Inner question"\n', "inner")
    parent = flow('[steps.call]\nkind = "subroutine"\nroutine = "inner"\n', "outer")
    async with Engine.open(store, host=host) as engine:
        await engine.load(child)
        run = await engine.run(parent)
        own = await engine.tasks(run.id)
        waited_for = await engine.tasks(run.id, descendants=True)
        [kid] = await engine.list_runs(parent_run_id=run.id)
    assert run.status.value == "waiting" and own == []
    assert [t.run_id for t in waited_for] == [kid.id] and waited_for[0].spec.name == "Inner question"
