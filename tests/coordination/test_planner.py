"""Planning (``vrooli_core.coordination.planner``): a planner routine proposes a plan, problems are
handed back for repair a bounded number of times, then the plan is accepted or rejected."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from vrooli_core import Engine
from vrooli_core.coordination.planner import PlanningError, make_plan
from vrooli_core.execution.strategy import StepContext, Strategy
from vrooli_core.model import RoutineSource
from vrooli_core.plugins import hookimpl

pytestmark = pytest.mark.anyio

CYCLE = {"tasks": [{"id": "a", "title": "A", "depends_on": ["b"]}, {"id": "b", "title": "B", "depends_on": ["a"]}]}
GOOD = {"tasks": [{"id": "a", "title": "A", "capabilities": ["sql"]}, {"id": "b", "title": "B", "depends_on": ["a"]}]}
SEEN: list[Any] = []
ANSWERS: list[Any] = []


class ScriptedPlanner(Strategy):
    """Stands in for a model with structured output: answers the next scripted plan."""

    name: ClassVar[str] = "reasoning"

    async def execute(self, ctx: StepContext) -> Any:
        SEEN.append(ctx.inputs)
        return {"plan": ANSWERS.pop(0)}


class Plugin:
    @hookimpl
    def vrooli_register_strategies(self) -> list:
        return [ScriptedPlanner]


PLANNER = RoutineSource(
    """
id = "planner"
start = "think"
[steps.think]
kind = "model"
strategy = "reasoning"
in = {objective = "objective", capabilities = "capabilities", routines = "routines", budget = "budget", problems = "problems"}
out = {plan = "plan"}
""",
    "planner.flow.toml",
)


@pytest.fixture(autouse=True)
def _script():
    SEEN.clear()
    ANSWERS.clear()


async def test_a_plan_with_problems_is_handed_back_and_repaired(host, store):
    host.register(Plugin(), "planner")
    ANSWERS.extend([CYCLE, {"tasks": [{"id": "a"}]}, GOOD])
    async with Engine.open(store, host=host) as engine:
        result = await make_plan(engine, PLANNER, "Report churn", capabilities={"sql", "writing"}, budget=10)
    assert [t.id for t in result.plan.tasks] == ["a", "b"]
    assert [[p.code for p in a.problems] for a in result.attempts] == [["cycle"], ["invalid_plan"], []]
    # Each attempt saw the objective, what the swarm can do, and the problems of the one before.
    assert SEEN[0]["objective"] == "Report churn" and SEEN[0]["capabilities"] == ["sql", "writing"]
    assert SEEN[0]["problems"] == []
    assert SEEN[1]["problems"][0]["code"] == "cycle" and "a → b → a" in SEEN[1]["problems"][0]["message"]
    assert "title" in SEEN[2]["problems"][0]["message"]


async def test_a_plan_still_wrong_after_the_last_attempt_is_rejected_with_its_problems(host, store):
    host.register(Plugin(), "planner")
    needs_flying = {"tasks": [{"id": "a", "title": "A", "capabilities": ["flying"], "estimate": 50}]}
    ANSWERS.extend([needs_flying, needs_flying])
    async with Engine.open(store, host=host) as engine:
        with pytest.raises(PlanningError) as caught:
            await make_plan(engine, PLANNER, "Fly", capabilities={"sql"}, budget=10, attempts=2)
    error = caught.value
    assert [p.code for p in error.problems] == ["missing_capability", "over_budget"]
    assert len(error.attempts) == 2 and "planning 'Fly' (2 attempts) cannot run" in str(error)


async def test_a_planner_run_that_fails_is_reported_as_such(host, store):
    host.register(Plugin(), "planner")  # no scripted answer: the strategy raises
    async with Engine.open(store, host=host) as engine:
        with pytest.raises(PlanningError) as caught:
            await make_plan(engine, PLANNER, "Anything", capabilities=())
    assert caught.value.code == "planner_failed" and "failed" in str(caught.value)
