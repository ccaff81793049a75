"""Running swarms (``vrooli_core.coordination.swarms``) with a scripted fake model: decomposition,
parallel tasks feeding a dependent one, failure and re-plan, budget, people, permissions, a stop,
criteria, escalation and resume after a restart."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest
from test_permissions import FLOW, Tools

from vrooli_core import Engine
from vrooli_core.coordination import Agent, Member, SwarmLimits, SwarmStatus, Team
from vrooli_core.coordination.model import TaskStatus, WriterKind
from vrooli_core.coordination.plan import PLAN_SCHEMA
from vrooli_core.coordination.planner import default_planner
from vrooli_core.coordination.swarms import SWARM_LABEL, SwarmRunner
from vrooli_core.execution.strategy import StepContext
from vrooli_core.model import Outcome, RoutineSource, RunStatus, Usage
from vrooli_core.testing.fakes import FakeModelStrategy, ModelReply

pytestmark = pytest.mark.anyio

TEAM = Team(
    "research",
    "Research",
    goals=("answer questions well",),
    agents=(
        Agent("ana", "analyst", goal="find facts", capabilities=("search",), permissions=("knowledge:style",)),
        Agent("wes", "writer", capabilities=("write",)),
        Agent("sam", "second analyst", capabilities=("search",)),
    ),
    people=(Member("pat", "Pat", roles=("lead",), capabilities=("review",)),),
    knowledge={"style": "short", "secret": "do not share"},
)

FAN_IN = {
    "tasks": [
        {"id": "a", "title": "Find A", "capabilities": ["search"], "estimate": 1},
        {"id": "b", "title": "Find B", "capabilities": ["search"], "estimate": 1},
        {"id": "c", "title": "Write it up", "capabilities": ["write"], "depends_on": ["a", "b"], "estimate": 2},
    ]
}


class World:
    """The fake model's brain: plans for the planner, answers per task for agents."""

    def __init__(self, plans: list[Any], answers: dict[str, Any] | None = None, delay: float = 0.0) -> None:
        self.plans = list(plans)
        self.answers = answers or {}
        self.delay = delay
        self.planner_inputs: list[Any] = []
        self.task_inputs: dict[str, Any] = {}
        self.spans: dict[str, tuple[float, float]] = {}

    async def __call__(self, ctx: StepContext) -> Any:
        if ctx.step.config.get("output_schema") == PLAN_SCHEMA:
            self.planner_inputs.append(ctx.inputs)
            return self.plans.pop(0)
        task = ctx.inputs["task"]["id"]
        self.task_inputs[task] = ctx.inputs
        began = time.perf_counter()
        await anyio.sleep(self.delay)
        self.spans[task] = (began, time.perf_counter())
        answer = self.answers.get(task, f"result of {task}")
        if callable(answer):
            answer = answer(ctx)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def fake(world: World) -> FakeModelStrategy:
    model = FakeModelStrategy()

    async def answer(strategy: str, ctx: StepContext) -> Outcome:
        model.calls.append(ctx)  # type: ignore[arg-type]
        out = await world(ctx)
        if isinstance(out, Outcome):
            return out
        reply = out if isinstance(out, ModelReply) else ModelReply(out, Usage(model_calls=1))
        return Outcome(output=reply.output, usage=reply.usage or Usage(model_calls=1))

    model.answer = answer  # type: ignore[method-assign]
    return model


def runner(engine: Engine, **kwargs: Any) -> SwarmRunner:
    kwargs.setdefault("planner", default_planner())
    kwargs.setdefault("poll", 0.05)
    return SwarmRunner(engine, **kwargs)


async def test_parallel_tasks_feed_a_dependent_one(host, store):
    world = World([FAN_IN], delay=0.2)
    host.register(fake(world).plugin(), "model")
    async with Engine.open(store, host=host) as engine:
        swarm = await runner(engine).run(TEAM, "Compare A and B")
        runs = await engine.list_runs(labels={SWARM_LABEL: swarm.id})
    assert swarm.status is SwarmStatus.COMPLETED, swarm.report
    # a and b ran at the same time, on the two agents able to search; c after both.
    (a0, a1), (b0, b1), (c0, _) = world.spans["a"], world.spans["b"], world.spans["c"]
    assert a0 < b1 and b0 < a1 and c0 >= max(a1, b1)
    assert {swarm.task("a").assignee, swarm.task("b").assignee} == {"ana", "sam"}
    assert swarm.task("c").assignee == "wes"
    # c's inputs are a's and b's results, written on the blackboard with provenance.
    assert world.task_inputs["c"]["inputs"] == {"a": "result of a", "b": "result of b"}
    entry = swarm.blackboard.entry("task.a")
    assert entry.by == swarm.task("a").assignee and entry.by_kind is WriterKind.AGENT and entry.run_id == swarm.task("a").run_id
    assert swarm.blackboard.get("task.c") == "result of c"
    types = [e.type for e in swarm.events]
    assert types[:2] == ["swarm.started", "swarm.planned"] and types.count("task.assigned") == 3
    assert types.count("task.completed") == 3 and types[-1] == "swarm.completed"
    # one planner run and three task runs, each labelled with the swarm
    assert len(runs) == 4 and all(r.status is RunStatus.COMPLETED for r in runs)
    assert "Swarm" in swarm.report and "[completed] c (Write it up) by wes" in swarm.report


async def test_agents_see_only_the_context_they_were_granted(host, store):
    world = World([{"tasks": [{"id": "a", "title": "Find A", "capabilities": ["search"]}]}])
    host.register(fake(world).plugin(), "model")
    async with Engine.open(store, host=host) as engine:
        swarm = await runner(engine).run(TEAM, "Find A", agents=["ana", "wes"])
    assert swarm.status is SwarmStatus.COMPLETED
    context = world.task_inputs["a"]["context"]
    assert context["team"]["knowledge"] == {"style": "short"}  # granted knowledge:style, not the secret
    assert context["member"] == {"agent": "ana", "role": "analyst", "goal": "find facts"}
    assert context["team"]["goals"] == ["answer questions well"]


async def test_a_plan_that_cannot_run_is_repaired_or_the_swarm_fails_with_the_reasons(host, store):
    cycle = {"tasks": [{"id": "a", "title": "A", "depends_on": ["b"]}, {"id": "b", "title": "B", "depends_on": ["a"]}]}
    unknown = {"tasks": [{"id": "a", "title": "A", "capabilities": ["juggling"]}]}
    world = World([cycle, unknown, cycle])
    host.register(fake(world).plugin(), "model")
    async with Engine.open(store, host=host) as engine:
        swarm = await runner(engine).run(TEAM, "Do the impossible")
    assert swarm.status is SwarmStatus.FAILED
    assert "no plan can run" in swarm.reason and "a → b → a" in swarm.reason
    # the planner was shown what was wrong with its previous plan
    assert [p["code"] for p in world.planner_inputs[1]["problems"]] == ["cycle"]
    assert [p["code"] for p in world.planner_inputs[2]["problems"]] == ["missing_capability"]
    [rejected] = [e for e in swarm.events if e.type == "swarm.plan_rejected"]
    assert len(rejected.data["attempts"]) == 3


async def test_a_failed_task_leads_to_a_new_plan_without_the_agent_that_failed(host, store):
    first = {"tasks": [{"id": "a", "title": "Find A", "capabilities": ["search"]}, {"id": "b", "title": "Find B", "capabilities": ["search"], "depends_on": ["a"]}]}
    second = {"tasks": [{"id": "b", "title": "Find B again", "capabilities": ["search"], "depends_on": ["a"]}]}
    failures = iter([RuntimeError("the search engine is down")])

    def flaky(ctx):
        return next(failures, "found B")

    world = World([first, second], {"b": flaky})
    host.register(fake(world).plugin(), "model")
    async with Engine.open(store, host=host) as engine:
        swarm = await runner(engine).run(TEAM, "Find A then B", agents=["ana", "sam", "wes"])
    assert swarm.status is SwarmStatus.COMPLETED, swarm.report
    assert swarm.replans == 1
    old, new = [t for t in swarm.tasks if t.id == "b"]
    assert old.status is TaskStatus.FAILED and "the search engine is down" in old.error
    assert new.status is TaskStatus.COMPLETED and new.assignee != old.assignee and new.generation == 1
    # the re-plan was told what failed and what is done
    replan = world.planner_inputs[1]
    assert replan["problems"][0]["code"] == "task_failed" and replan["problems"][0]["task"] == "b"
    assert replan["done"] == {"a": "result of a"}
    assert [e.type for e in swarm.events].count("swarm.replanned") == 1
    assert swarm.blackboard.get("task.b") == "found B"


async def test_an_overrun_stops_the_task_and_without_replans_the_swarm_with_a_report(host, store):
    plan = {"tasks": [{"id": "a", "title": "Find A", "capabilities": ["search"], "estimate": 4}, {"id": "b", "title": "Write", "capabilities": ["write"], "depends_on": ["a"], "estimate": 6}]}
    world = World([plan], {"a": ModelReply("A", Usage(credits=7, model_calls=1))})
    host.register(fake(world).plugin(), "model")
    async with Engine.open(store, host=host) as engine:
        swarm = await runner(engine, on_failure="fail").run(TEAM, "Find and write", agents=["ana", "wes"], limits=SwarmLimits(credits=10))
    assert swarm.status is SwarmStatus.FAILED
    a = swarm.task("a")
    assert a.credits == 4 and a.spent == 7 and a.code == "limit_exceeded" and a.status is TaskStatus.FAILED
    assert swarm.task("b").status is TaskStatus.CANCELLED
    [failed] = [e for e in swarm.events if e.type == "task.failed"]
    assert failed.data["overrun"] is True
    assert swarm.spent == 7 and "task 'a' failed" in swarm.reason and "7 of 4 credits" in swarm.report


async def test_an_exhausted_budget_stops_the_swarm(host, store):
    plan = {"tasks": [{"id": "a", "title": "Find A", "capabilities": ["search"]}]}

    def planner_spends(ctx):
        return ModelReply(plan, Usage(credits=10, model_calls=1))

    world = World([planner_spends])
    world.plans = []

    async def brain(ctx):  # the planner's own answer costs the whole budget
        if ctx.step.config.get("output_schema") == PLAN_SCHEMA:
            return planner_spends(ctx)
        return "never"

    host.register(fake(brain).plugin(), "model")  # type: ignore[arg-type]
    async with Engine.open(store, host=host) as engine:
        swarm = await runner(engine).run(TEAM, "Find A", agents=["ana"], limits=SwarmLimits(credits=10))
    assert swarm.status is SwarmStatus.FAILED and "credit budget is exhausted (10 of 10 spent)" in swarm.reason
    assert swarm.rounds == 0 and swarm.task("a").status is TaskStatus.CANCELLED
    assert "Spent: 10 credits" in swarm.report


async def test_a_person_assigned_a_task_gets_a_human_task_and_the_swarm_resumes_after_a_restart(host, store):
    plan = {"tasks": [{"id": "a", "title": "Find A", "capabilities": ["search"]}, {"id": "ok", "title": "Review", "capabilities": ["review"], "depends_on": ["a"]}]}
    host.register(fake(World([plan])).plugin(), "model")
    async with Engine.open(store, host=host) as engine:
        swarm = await runner(engine).run(TEAM, "Find A, reviewed", agents=["ana"])
        assert swarm.status is SwarmStatus.RUNNING and swarm.task("ok").status is TaskStatus.WAITING
        [task] = await engine.tasks()
        assert task.spec.assignee == "pat" and task.run_id == swarm.task("ok").run_id
    # a restart: another engine, another runner, the same store
    async with Engine.open(store, host=host) as engine:
        await engine.complete_task(task.id, {"verdict": "good"})
        swarm = await runner(engine).resume(swarm.id)
    assert swarm.status is SwarmStatus.COMPLETED, swarm.report
    entry = swarm.blackboard.entry("task.ok")
    assert entry.by == "pat" and entry.by_kind is WriterKind.PERSON and entry.value == {"verdict": "good"}


CLEANUP = RoutineSource(FLOW.text.replace('id = "agent-task"', 'id = "cleanup"'), "cleanup.flow.toml")


async def test_a_tool_the_agent_was_not_granted_is_denied_and_the_swarm_goes_on(host, store):
    team = Team(
        "ops",
        "Ops",
        agents=(Agent("kim", "operator", routines=("cleanup",), tools=("lookup",), capabilities=("ops",)), Agent("wes", "writer", capabilities=("write",))),
    )
    first = {"tasks": [{"id": "clean", "title": "Clean up", "routine": "cleanup", "capabilities": ["ops"]}]}
    second = {"tasks": [{"id": "note", "title": "Write down what to clean", "capabilities": ["write"]}]}
    host.register(Tools(), "tools")
    host.register(fake(World([first, second])).plugin(), "model")
    async with Engine.open(store, host=host) as engine:
        await engine.load(CLEANUP)
        swarm = await runner(engine).run(team, "Tidy the database")
        clean = next(t for t in swarm.tasks if t.id == "clean")
        history = await engine.history(clean.run_id)
    assert clean.status is TaskStatus.FAILED and clean.code == "safety_denied"
    assert "agent 'kim' was not granted tool 'delete_everything'" in clean.error
    assert any(e.type == "safety.checked" and e.payload.action == "deny" for e in history)
    assert swarm.status is SwarmStatus.COMPLETED and swarm.task("note").status is TaskStatus.COMPLETED


async def test_a_person_stops_a_running_swarm(host, store):
    plan = {"tasks": [{"id": "a", "title": "Slow", "capabilities": ["search"]}, {"id": "b", "title": "After", "capabilities": ["write"], "depends_on": ["a"]}]}
    world = World([plan], delay=30)
    host.register(fake(world).plugin(), "model")
    async with Engine.open(store, host=host) as engine:
        swarms = runner(engine)
        result: list[Any] = []
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:

                async def go():
                    result.append(await swarms.run(TEAM, "Slowly", agents=["ana", "wes"], swarm_id="swarm-stop"))

                tg.start_soon(go)
                while "a" not in world.task_inputs:
                    await anyio.sleep(0.01)
                await swarms.stop("swarm-stop", "changed my mind")
        [swarm] = result
        run = await engine.get_run(swarm.task("a").run_id)
    assert swarm.status is SwarmStatus.CANCELLED and swarm.reason == "changed my mind"
    assert run.status is RunStatus.CANCELLED
    assert {t.status for t in swarm.tasks} == {TaskStatus.CANCELLED}
    assert [e.type for e in swarm.events][-2:] == ["swarm.stop_requested", "swarm.cancelled"]


async def test_met_criteria_end_the_swarm_early(host, store):
    plan = {"tasks": [{"id": "a", "title": "Find", "capabilities": ["search"]}, {"id": "b", "title": "More", "capabilities": ["search"], "depends_on": ["a"]}]}
    host.register(fake(World([plan], {"a": "enough"})).plugin(), "model")
    async with Engine.open(store, host=host) as engine:
        swarm = await runner(engine, criteria=lambda s: s.blackboard.get("task.a") == "enough").run(TEAM, "Find", agents=["ana"])
    assert swarm.status is SwarmStatus.COMPLETED and swarm.reason == "the objective's criteria are met"
    assert swarm.task("b").status is TaskStatus.CANCELLED and swarm.rounds == 1


async def test_a_failure_escalated_to_a_person_who_skips_it(host, store):
    plan = {"tasks": [{"id": "a", "title": "Find", "capabilities": ["search"]}, {"id": "b", "title": "Write", "capabilities": ["write"]}]}
    host.register(fake(World([plan], {"a": RuntimeError("no luck")})).plugin(), "model")
    async with Engine.open(store, host=host) as engine:
        swarms = runner(engine, on_failure="escalate", escalate_to="pat")
        swarm = await swarms.run(TEAM, "Find and write", agents=["ana", "wes"])
        assert swarm.status is SwarmStatus.RUNNING and swarm.escalation is not None
        [task] = await engine.tasks()
        assert task.spec.assignee == "pat" and task.spec.options == ("retry", "skip", "stop")
        await engine.complete_task(task.id, "skip")
        swarm = await swarms.resume(swarm.id)
    assert swarm.status is SwarmStatus.COMPLETED, swarm.report
    assert swarm.task("a").status is TaskStatus.SKIPPED and swarm.task("b").status is TaskStatus.COMPLETED


async def test_a_swarm_cut_off_mid_task_resumes_after_a_restart_without_a_second_run(host, store):
    plan = {"tasks": [{"id": "a", "title": "Slow", "capabilities": ["search"]}, {"id": "b", "title": "After", "capabilities": ["write"], "depends_on": ["a"]}]}
    calls: list[str] = []

    async def slow_once(ctx):
        calls.append(ctx.run_id)
        if len(calls) == 1:
            await anyio.sleep(30)  # the process dies during this call
        return "A"

    world = World([plan], {"a": lambda ctx: "A"})

    async def brain(ctx):
        if ctx.step.config.get("output_schema") == PLAN_SCHEMA or ctx.inputs["task"]["id"] != "a":
            return await world(ctx)
        return await slow_once(ctx)

    host.register(fake(brain).plugin(), "model")  # type: ignore[arg-type]
    async with Engine.open(store, host=host) as engine:
        with anyio.move_on_after(10) as cut:
            async with anyio.create_task_group() as tg:
                swarms = runner(engine)
                tg.start_soon(lambda: swarms.run(TEAM, "Slow then after", agents=["ana", "wes"], swarm_id="swarm-cut"))
                while not calls:
                    await anyio.sleep(0.01)
                tg.cancel_scope.cancel()  # the process is gone, mid-task
        assert not cut.cancelled_caught
    async with Engine.open(store, host=host) as engine:
        stored = await SwarmRunner(engine).get("swarm-cut")
        assert stored.status is SwarmStatus.RUNNING and stored.task("a").status is TaskStatus.RUNNING
        swarm = await runner(engine).resume("swarm-cut")
        runs = await engine.list_runs(labels={SWARM_LABEL: "swarm-cut"})
    assert swarm.status is SwarmStatus.COMPLETED, swarm.report
    assert calls == [swarm.task("a").run_id] * 2  # the same run went on: its one step was in flight
    assert swarm.rounds == 2 and len(runs) == 3  # planner, a, b: no second run of a


async def test_a_model_chooses_among_qualified_agents_and_a_wrong_answer_falls_back(host, store):
    plan = {"tasks": [{"id": "a", "title": "Find A", "capabilities": ["search"]}, {"id": "b", "title": "Find B", "capabilities": ["search"]}]}
    answers = iter([{"assignee": "sam"}, {"assignee": "wes"}, {"assignee": "nobody"}])  # wes cannot search
    asked: list[Any] = []

    async def brain(ctx):
        if ctx.step.config.get("output_schema") == PLAN_SCHEMA:
            return plan
        if "candidates" in ctx.inputs:
            asked.append(ctx.inputs)
            return next(answers)
        return f"done {ctx.inputs['task']['id']}"

    host.register(fake(brain).plugin(), "model")  # type: ignore[arg-type]
    async with Engine.open(store, host=host) as engine:
        swarm = await runner(engine, chooser="model").run(TEAM, "Find A and B")
        chooser_runs = [r for r in await engine.list_runs(labels={SWARM_LABEL: swarm.id}) if r.routine.id == "swarm.chooser"]
    assert swarm.status is SwarmStatus.COMPLETED
    a, b = swarm.task("a"), swarm.task("b")
    assert (a.assignee, a.how) == ("sam", "chosen")
    assert (b.assignee, b.how) == ("ana", "fallback")  # two refused answers, then the fewest-tasks rule
    assert [c["name"] for c in asked[0]["candidates"]] == ["ana", "sam"] and asked[0]["candidates"][0]["role"] == "analyst"
    assert len(chooser_runs) == 3
    [assigned_b] = [e for e in swarm.events if e.type == "task.assigned" and e.data["task"] == "b"]
    assert assigned_b.data["how"] == "fallback"


async def test_a_stop_asked_through_another_runner_is_carried_out_by_the_one_moving_the_swarm(host, store):
    plan = {"tasks": [{"id": "a", "title": "Slow", "capabilities": ["search"]}]}
    world = World([plan], delay=30)
    host.register(fake(world).plugin(), "model")
    async with Engine.open(store, host=host) as engine:
        result: list[Any] = []
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:

                async def go():
                    result.append(await runner(engine).run(TEAM, "Slowly", agents=["ana"], swarm_id="swarm-far"))

                tg.start_soon(go)
                while "a" not in world.task_inputs:
                    await anyio.sleep(0.01)
                elsewhere = await SwarmRunner(engine).stop("swarm-far", "from another process")
                assert elsewhere.status is SwarmStatus.RUNNING  # left to the runner moving it
    [swarm] = result
    assert swarm.status is SwarmStatus.CANCELLED and swarm.reason == "from another process"
    assert swarm.task("a").status is TaskStatus.CANCELLED


async def test_a_stop_while_the_swarm_plans_ends_it_before_any_task_starts(host, store):
    plan = {"tasks": [{"id": "a", "title": "Find", "capabilities": ["search"]}]}
    asked = anyio.Event()
    go_on = anyio.Event()

    async def brain(ctx):
        if ctx.step.config.get("output_schema") == PLAN_SCHEMA:
            asked.set()
            await go_on.wait()
            return plan
        return "never"

    host.register(fake(brain).plugin(), "model")  # type: ignore[arg-type]
    async with Engine.open(store, host=host) as engine:
        swarms = runner(engine)
        result: list[Any] = []
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:

                async def go():
                    result.append(await swarms.run(TEAM, "Find", agents=["ana"], swarm_id="swarm-early"))

                tg.start_soon(go)
                await asked.wait()
                await swarms.stop("swarm-early", "too early")
                go_on.set()
    [swarm] = result
    assert swarm.status is SwarmStatus.CANCELLED and swarm.reason == "too early" and swarm.rounds == 0
