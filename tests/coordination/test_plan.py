"""Plans (``vrooli_core.coordination.plan``): parsed from a planner's structured output, checked
before anything runs, ordered into layers of tasks that may run together."""

from __future__ import annotations

import pytest

from vrooli_core.coordination.plan import PLAN_SCHEMA, Plan, PlanError, PlannedTask, check_plan, layers, parse_plan


def written(*tasks: dict) -> dict:
    return {"tasks": list(tasks)}


GOOD = written(
    {"id": "research", "title": "Research the market", "capabilities": ["research"], "estimate": 2},
    {"id": "numbers", "title": "Pull the numbers", "capabilities": ["sql"], "estimate": 1},
    {"id": "report", "title": "Write the report", "depends_on": ["research", "numbers", "research"], "capabilities": ["writing"], "estimate": 3, "routine": "report"},
)


def test_a_written_plan_is_parsed_and_ordered_into_layers():
    plan = parse_plan(GOOD)
    assert [t.id for t in plan.tasks] == ["research", "numbers", "report"]
    assert plan.task("report").depends_on == ("research", "numbers")  # named twice, counted once
    assert plan.estimate == 6
    assert check_plan(plan, capabilities={"research", "sql", "writing"}, routines={"report"}, budget=10) == []
    assert layers(plan) == [["research", "numbers"], ["report"]]


def test_a_plan_that_does_not_match_the_schema_names_every_place():
    with pytest.raises(PlanError) as caught:
        parse_plan({"tasks": [{"id": "a"}, {"id": "b", "title": "B", "estimate": -1, "extra": 1}]})
    text = str(caught.value)
    assert "tasks[0]: 'title' is a required property" in text
    assert "tasks[1].estimate" in text and "tasks[1]: Additional properties" in text
    assert caught.value.code == "invalid_plan"
    with pytest.raises(PlanError, match="the plan: 'tasks' is a required property"):
        parse_plan({})
    assert PLAN_SCHEMA["properties"]["tasks"]["minItems"] == 1


def test_every_problem_is_listed_with_its_task():
    plan = Plan(
        (
            PlannedTask("a", "A", depends_on=("c",), capabilities=("flying",), estimate=5),
            PlannedTask("b", "B", depends_on=("a", "ghost"), routine="nope"),
            PlannedTask("c", "C", depends_on=("b",), estimate=7),
            PlannedTask("a", "A again"),
        )
    )
    problems = check_plan(plan, capabilities={"writing"}, routines={"report"}, budget=10)
    assert [(p.code, p.task) for p in problems] == [
        ("duplicate_task", "a"),
        ("unknown_dependency", "b"),
        ("cycle", "a"),
        ("missing_capability", "a"),
        ("unknown_routine", "b"),
        ("over_budget", None),
    ]
    cycle = next(p for p in problems if p.code == "cycle")
    assert "a → c → b → a" in cycle.message
    with pytest.raises(PlanError, match="cannot run"):
        layers(plan)


def test_an_empty_plan_and_a_self_dependency():
    assert [p.code for p in check_plan(Plan(()))] == ["empty"]
    [problem] = check_plan(Plan((PlannedTask("a", "A", depends_on=("a",)),)))
    assert problem.code == "cycle" and "a → a" in problem.message


def test_a_long_chain_is_checked_and_ordered_without_recursion():
    n = 20_000
    tasks = tuple(PlannedTask(f"t{i}", f"T{i}", depends_on=(f"t{i - 1}",) if i else ()) for i in range(n))
    plan = Plan(tasks)
    assert check_plan(plan) == []
    order = layers(plan)
    assert len(order) == n and order[0] == ["t0"] and order[-1] == [f"t{n - 1}"]
