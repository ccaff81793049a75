"""Limits, failures, retries, timeouts, pause/resume/cancel and safety checks."""

from __future__ import annotations

import anyio
import pytest
from _util import flow, payloads, types

from vrooli_core import Engine, FakeClock, tool
from vrooli_core.errors import RunError
from vrooli_core.execution import Deny, Redact, RequireApproval, SafetyCheck, SafetyPoint
from vrooli_core.model import Limits, Outcome, RoutineSource, RunStatus, Usage
from vrooli_core.plugins import hookimpl

pytestmark = pytest.mark.anyio

CHAIN = """
id = "chain"
start = "s1"
[steps.s1]
next = "s2"
[steps.s2]
next = "s3"
[steps.s3]
next = "s4"
[steps.s4]
next = "s5"
[steps.s5]
"""


async def test_step_limit_fails_the_run_with_an_event(host, store):
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(CHAIN), limits=Limits(max_steps=3))
        events = await engine.history(run.id)
    assert run.status is RunStatus.FAILED
    assert run.error.code == "limit_exceeded"
    assert run.steps == 3
    [reached] = payloads(events, "limit.reached")
    assert (reached.limit, reached.threshold, reached.action) == ("max_steps", 3, "fail")


async def test_step_limit_pauses_and_resume_with_new_limits_continues(host, store):
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(CHAIN), limits=Limits(max_steps=2, on_limit="pause"))
        assert run.status is RunStatus.PAUSED and run.steps == 2
        run = await engine.resume(run.id, limits=Limits(max_steps=10))
        events = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED and run.steps == 5
    assert [p.step for p in payloads(events, "step.completed")] == ["s1", "s2", "s3", "s4", "s5"]
    assert "run.paused" in types(events) and "run.resumed" in types(events)


async def test_wall_time_limit_uses_the_engine_clock(host, store):
    clock = FakeClock()

    @tool
    def tick() -> dict:
        clock.advance(10)
        return {}

    text = CHAIN.replace("[steps.s1]\n", '[steps.s1]\nkind = "tool"\ntool = "tick"\n').replace("[steps.s2]\n", '[steps.s2]\nkind = "tool"\ntool = "tick"\n')
    async with Engine.open(store, host=host, clock=clock, tools=[tick]) as engine:
        run = await engine.run(flow(text), limits=Limits(wall_time=15))
    assert run.status is RunStatus.FAILED
    assert run.error.details["limit"] == "wall_time"
    assert run.steps == 2


async def test_cost_limit_counts_step_usage(host, store):
    @tool
    def pricey() -> Outcome:
        return Outcome(output={"ok": True}, usage=Usage(input_tokens=100, cost=0.4, credits=4))

    text = CHAIN
    for n in range(1, 6):
        text = text.replace(f"[steps.s{n}]\n", f'[steps.s{n}]\nkind = "tool"\ntool = "pricey"\n')
    async with Engine.open(store, host=host, tools=[pricey]) as engine:
        run = await engine.run(flow(text), limits=Limits(max_cost=1.0))
        assert run.status is RunStatus.FAILED and run.error.details["limit"] == "max_cost"
        assert run.steps == 3 and run.usage.cost == pytest.approx(1.2) and run.usage.input_tokens == 300
        run = await engine.run(flow(text), limits=Limits(max_credits=8, on_limit="pause"))
        assert run.status is RunStatus.PAUSED and run.usage.credits == 8


FAILING = """
id = "failing"
start = "work"
[steps.work]
kind = "tool"
tool = "flaky"
retry = {max_attempts = 3}
on_error = "handle"
next = "done"
[steps.handle]
[steps.done]
"""


async def test_retries_then_success(host, store):
    calls = []

    @tool
    def flaky(ctx=None) -> dict:
        calls.append(ctx.idempotency_key)
        if len(calls) < 3:
            raise ConnectionError("try again")
        return {"ok": True}

    async with Engine.open(store, host=host, tools=[flaky]) as engine:
        run = await engine.run(flow(FAILING))
        events = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED
    assert [p.attempt for p in payloads(events, "step.retrying")] == [1, 2]
    assert [p.attempt for p in payloads(events, "step.started")] == [1, 2, 3]
    assert calls == [f"{run.id}:t1:work:{n}" for n in (1, 2, 3)]
    assert payloads(events, "step.retrying")[0].error.code == "ConnectionError"


async def test_failure_after_retries_goes_to_the_error_route(host, store):
    @tool
    def flaky() -> dict:
        raise ValueError("broken input")

    async with Engine.open(store, host=host, tools=[flaky]) as engine:
        run = await engine.run(flow(FAILING))
        events = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED
    assert run.outputs["error"] == {"code": "ValueError", "message": "broken input"}
    assert [p.step for p in payloads(events, "step.completed")] == ["work", "handle"]


async def test_unrouted_failure_fails_the_run_naming_the_step(host, store):
    @tool
    def flaky() -> dict:
        raise ValueError("broken input")

    async with Engine.open(store, host=host, tools=[flaky]) as engine:
        run = await engine.run(flow(FAILING.replace('on_error = "handle"\n', "")))
        events = await engine.history(run.id)
    assert run.status is RunStatus.FAILED
    assert (run.error.code, run.error.element, run.error.message) == ("ValueError", "work", "broken input")
    assert types(events)[-1] == "run.failed"


async def test_tool_with_wrong_arguments_fails_with_a_clear_error(host, store):
    @tool
    def add(a: int, b: int) -> dict:
        return {"sum": a + b}

    text = 'id = "add"\nstart = "add"\n[steps.add]\nkind = "tool"\ntool = "add"\nin = {a = "x", b = "y"}\n'
    async with Engine.open(store, host=host, tools=[add]) as engine:
        run = await engine.run(flow(text), {"x": 1, "y": "two"})
        assert run.status is RunStatus.FAILED
        assert run.error.code == "ToolInputError"
        assert "tool 'add' got invalid arguments" in run.error.message and "'two' is not of type 'integer'" in run.error.message
        run = await engine.run(flow(text), {"x": 1})
        assert run.error.code == "ExpressionError" and "no value at 'y'" in run.error.message
        ok = await engine.run(flow(text), {"x": 1, "y": 2})
    assert ok.outputs["sum"] == 3


async def test_unknown_tool_fails_the_step(host, store):
    text = 'id = "x"\nstart = "a"\n[steps.a]\nkind = "tool"\ntool = "nope"\n'
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(text))
    assert run.status is RunStatus.FAILED
    assert run.error.code == "UnknownPluginError" and "unknown tool 'nope'" in run.error.message


async def test_step_timeout(host, store):
    @tool
    async def hang() -> dict:
        await anyio.sleep(10)
        return {}

    text = 'id = "x"\nstart = "a"\n[steps.a]\nkind = "tool"\ntool = "hang"\ntimeout = 0.05\n'
    async with Engine.open(store, host=host, tools=[hang]) as engine:
        with anyio.fail_after(5):
            run = await engine.run(flow(text))
    assert run.status is RunStatus.FAILED and run.error.code == "timeout"


async def test_output_schema_is_enforced(host, store):
    @tool
    def answer() -> dict:
        return {"score": "high"}

    text = 'id = "x"\nstart = "a"\n[steps.a]\nkind = "tool"\ntool = "answer"\noutput_schema = {type = "object", properties = {score = {type = "number"}}}\n'
    async with Engine.open(store, host=host, tools=[answer]) as engine:
        run = await engine.run(flow(text))
    assert run.error.code == "invalid_output" and "score: 'high' is not of type 'number'" in run.error.message


async def test_navigator_raising_mid_run_fails_it_and_keeps_history(host, store):
    from vrooli_core.testing.flow import FlowNavigator

    class Broken(FlowNavigator):
        name = "broken"
        suffixes = (".broken.toml",)

        def next(self, graph, view, token, outcome):
            if token.location == "s3":
                raise KeyError("lost my map")
            return super().next(graph, view, token, outcome)

    class Plugin:
        @hookimpl
        def vrooli_register_navigators(self):
            return [Broken]

    host.register(Plugin(), "broken")
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(RoutineSource(CHAIN, "c.broken.toml"))
        events = await engine.history(run.id)
    assert run.status is RunStatus.FAILED
    assert run.error.code == "navigator_error" and run.error.element == "s3"
    assert "navigator 'broken' failed at 's3': KeyError" in run.error.message
    assert [p.step for p in payloads(events, "step.completed")] == ["s1", "s2", "s3"]
    assert payloads(events, "step.completed")[-1].decision is None
    assert run.steps == 3


async def test_cancel_stops_a_running_step_and_records_it(host, store):
    started = anyio.Event()

    @tool
    async def forever() -> dict:
        started.set()
        await anyio.sleep(100)
        return {}

    text = 'id = "x"\nstart = "a"\n[steps.a]\nkind = "tool"\ntool = "forever"\nnext = "b"\n[steps.b]\n'
    async with Engine.open(store, host=host, tools=[forever]) as engine:
        run = await engine.start(flow(text))
        with anyio.fail_after(5):
            await started.wait()
            run = await engine.cancel(run.id, "changed my mind")
        assert run.status is RunStatus.CANCELLED
        with pytest.raises(RunError, match="cannot cancel a cancelled run"):
            await engine.cancel(run.id)
        events = await engine.history(run.id)
    assert types(events)[-1] == "run.cancelled"
    assert "step.completed" not in types(events)


async def test_pause_lets_the_step_in_flight_finish_and_starts_nothing_new(host, store):
    gate = anyio.Event()
    started = anyio.Event()

    @tool
    async def slow() -> dict:
        started.set()
        await gate.wait()
        return {"slow": 1}

    text = 'id = "x"\nstart = "a"\n[steps.a]\nkind = "tool"\ntool = "slow"\nnext = "b"\n[steps.b]\n'
    async with Engine.open(store, host=host, tools=[slow]) as engine:
        run = await engine.start(flow(text))
        with anyio.fail_after(5):
            await started.wait()
            await engine.pause(run.id, "lunch")
            gate.set()
            run = await engine.wait(run.id)
        assert run.status is RunStatus.PAUSED and run.steps == 1
        run = await engine.resume(run.id)
    assert run.status is RunStatus.COMPLETED and run.steps == 2


class Guard(SafetyCheck):
    name = "guard"
    points = frozenset({SafetyPoint.BEFORE_STEP, SafetyPoint.AFTER_STEP})

    async def check(self, request):
        step = request.step.id
        if request.point is SafetyPoint.BEFORE_STEP and step == "deny":
            return Deny("not allowed here")
        if request.point is SafetyPoint.BEFORE_STEP and step == "risky":
            return RequireApproval("spends money")
        if request.point is SafetyPoint.AFTER_STEP and isinstance(request.value, dict) and "secret" in request.value:
            return Redact({**request.value, "secret": "***"}, "secret")
        from vrooli_core.execution import ALLOW

        return ALLOW


class GuardPlugin:
    @hookimpl
    def vrooli_register_safety_checks(self):
        return [Guard]


@tool
def leak() -> dict:
    return {"secret": "hunter2", "public": 1}


SAFETY = """
id = "safety"
start = "leak"
[steps.leak]
kind = "tool"
tool = "leak"
next = "risky"
[steps.risky]
kind = "tool"
tool = "leak"
next = "deny"
[steps.deny]
kind = "tool"
tool = "leak"
on_error = "handled"
[steps.handled]
"""


async def test_safety_checks_redact_require_approval_and_deny(host, store):
    host.register(GuardPlugin(), "guard")
    async with Engine.open(store, host=host, tools=[leak]) as engine:
        run = await engine.run(flow(SAFETY))
        assert run.status is RunStatus.WAITING
        [task] = await engine.tasks(run.id)
        assert task.spec.form["reason"] == "spends money" and task.spec.key == "approval:guard"
        run = await engine.complete_task(task.id, {"approved": True})
        events = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED
    assert run.outputs["secret"] == "***"
    assert run.outputs["error"]["code"] == "safety_denied"
    checked = payloads(events, "safety.checked")
    assert [(c.step, c.action) for c in checked] == [
        ("leak", "redact"), ("risky", "require_approval"), ("risky", "redact"), ("deny", "deny"),
    ]
    # the step that needed approval started, waited for it, and ran again once approved
    assert [p.step for p in payloads(events, "step.started")] == ["leak", "risky", "risky", "deny"]
    assert [p.step for p in payloads(events, "step.suspended")] == ["risky"]


async def test_rejected_approval_fails_the_step(host, store):
    host.register(GuardPlugin(), "guard")
    text = SAFETY.replace('next = "deny"', 'on_error = "handled"')
    async with Engine.open(store, host=host, tools=[leak]) as engine:
        await engine.run(flow(text))
        [task] = await engine.tasks()
        run = await engine.complete_task(task.id, "reject")
    assert run.status is RunStatus.COMPLETED
    assert run.outputs["error"]["code"] == "approval_rejected"


async def test_engine_can_be_given_an_explicit_list_of_checks(host, store):
    host.register(GuardPlugin(), "guard")
    async with Engine.open(store, host=host, tools=[leak], safety_checks=[]) as engine:
        run = await engine.run(flow(SAFETY))
    assert run.status is RunStatus.COMPLETED and run.outputs["secret"] == "hunter2"


async def test_emergency_stop_cancels_every_run_of_a_scope(host, store):
    text = 'id = "x"\nstart = "a"\n[steps.a]\nwait = {signal = "never"}\n'
    async with Engine.open(store, host=host) as engine:
        a = await engine.run(flow(text), labels={"team": "red"})
        b = await engine.run(flow(text), labels={"team": "red"})
        c = await engine.run(flow(text), labels={"team": "blue"})
        stopped = await engine.emergency_stop(labels={"team": "red"})
        assert sorted(stopped) == sorted([a.id, b.id])
        assert (await engine.get_run(c.id)).status is RunStatus.WAITING
        assert await engine.emergency_stop() == [c.id]
        assert (await engine.get_run(c.id)).status is RunStatus.CANCELLED


async def test_an_output_mapping_that_does_not_fit_fails_the_step(host, store):
    text = 'id = "x"\nstart = "a"\n[steps.a]\nkind = "tool"\ntool = "leak"\nout = {g = "nested.path"}\non_error = "h"\n[steps.h]\n'
    async with Engine.open(store, host=host, tools=[leak]) as engine:
        run = await engine.run(flow(text))
    assert run.status is RunStatus.COMPLETED
    assert run.outputs["error"]["code"] == "ExpressionError" and "no value at 'nested.path'" in run.outputs["error"]["message"]


async def test_errors_inside_engine_open_reach_the_caller_unwrapped(host, store):
    with pytest.raises(RunError, match="inputs of routine 'child' are invalid"):
        async with Engine.open(store, host=host) as engine:
            await engine.run(flow('id = "child"\ninputs = {type = "object", required = ["n"]}\n[steps.a]\n'))


async def test_only_human_tasks_can_be_completed(host, store):
    from vrooli_core.errors import NotFoundError

    text = 'id = "x"\nstart = "a"\n[steps.a]\nwait = {message = "m"}\n'
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(text))
        [wait] = await engine.storage.find_waits(run_id=run.id)
        with pytest.raises(NotFoundError, match="is a message wait, not a human task"):
            await engine.complete_task(wait.id, {})


async def test_an_output_that_cannot_be_stored_fails_the_step_not_the_engine(host, store):
    import datetime

    @tool
    def clock_tool() -> dict:
        return {"report": {"items": [1, 2, datetime.date(2026, 1, 1)]}}

    text = 'id = "x"\nstart = "a"\n[steps.a]\nkind = "tool"\ntool = "clock_tool"\n'
    async with Engine.open(store, host=host, tools=[clock_tool]) as engine:
        run = await engine.run(flow(text))
        assert run.status is RunStatus.FAILED
        assert run.error.code == "unstorable_output" and "report.items[2]: date" in run.error.message
        with pytest.raises(RunError, match=r"the inputs cannot be stored \(JSON types only\): when: date"):
            await engine.run(flow(text), {"when": datetime.date(2026, 1, 1)})
        human = await engine.run(flow('id = "h"\nstart = "h"\n[steps.h]\nkind = "human"\n'))
        [task] = await engine.tasks(human.id)
        with pytest.raises(RunError, match="the answer to task"):
            await engine.complete_task(task.id, {"x": {1, 2}})
        assert (await engine.get_run(human.id)).status is RunStatus.WAITING
