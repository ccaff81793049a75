"""Assignment (``vrooli_core.coordination.assign``): capabilities first, a chooser among the
qualified within bounded attempts, a deterministic fallback that never picks an excluded candidate."""

from __future__ import annotations

import pytest

from vrooli_core.coordination.assign import AssignmentError, Candidate, assign_tasks, candidates_of
from vrooli_core.coordination.model import Agent, Member
from vrooli_core.coordination.plan import Plan, PlannedTask

pytestmark = pytest.mark.anyio

TEAM = candidates_of(
    [
        Agent("ana", "analyst", capabilities=("sql", "research")),
        Agent("wes", "writer", capabilities=("writing",)),
        Agent("rae", "researcher", capabilities=("research",)),
    ],
    [Member("p-1", "Pat", capabilities=("approval", "writing"))],
)

PLAN = Plan(
    (
        PlannedTask("numbers", "Pull the numbers", capabilities=("sql",)),
        PlannedTask("scan", "Scan the market", capabilities=("research",)),
        PlannedTask("scan2", "Scan competitors", capabilities=("research",)),
        PlannedTask("draft", "Draft", depends_on=("numbers", "scan", "scan2"), capabilities=("writing",)),
        PlannedTask("sign", "Sign off", depends_on=("draft",), capabilities=("approval",)),
    )
)


async def test_capabilities_decide_and_the_fallback_spreads_the_work():
    result = {a.task: (a.assignee, a.kind, a.how) for a in await assign_tasks(PLAN, TEAM)}
    assert result == {
        "numbers": ("ana", "agent", "only"),
        "scan": ("rae", "agent", "fallback"),  # ana already has a task
        "scan2": ("ana", "agent", "fallback"),  # tie (one each): by name
        "draft": ("p-1", "person", "fallback"),  # p-1 and wes have none: by name
        "sign": ("p-1", "person", "only"),  # a person: the run makes it a human task
    }


async def test_a_chooser_picks_among_the_qualified_within_bounded_attempts():
    asked: list[tuple[str, list[str]]] = []

    async def chooser(task, qualified):
        asked.append((task.id, [c.name for c in qualified]))
        if task.id == "scan":
            return "wes"  # not qualified: refused, asked again
        if task.id == "scan2":
            raise RuntimeError("model down")
        return qualified[-1].name

    result = {a.task: a for a in await assign_tasks(PLAN, TEAM, chooser=chooser, attempts=2)}
    # Only tasks with a choice are asked about, with the qualified candidates only.
    assert [t for t, _ in asked] == ["scan", "scan", "scan2", "scan2", "draft"]
    assert ("draft", ["wes", "p-1"]) in asked
    assert result["scan"].how == "fallback" and result["scan"].refused == ("wes", "wes")
    assert result["scan2"].how == "fallback" and result["scan2"].refused[0].startswith("error: RuntimeError")
    assert result["draft"].assignee == "p-1" and result["draft"].how == "chosen"


async def test_excluded_candidates_never_get_the_task():
    async def stubborn(task, qualified):
        return "rae"

    result = {a.task: a.assignee for a in await assign_tasks(PLAN, TEAM, chooser=stubborn, excluded={"scan": ["rae"], "scan2": ["rae"]})}
    assert result["scan"] == "ana" and result["scan2"] == "ana"
    with pytest.raises(AssignmentError, match="task 'numbers': everyone who can do it is excluded \\(ana\\)"):
        await assign_tasks(PLAN, TEAM, excluded={"numbers": ["ana"]})


async def test_a_task_nobody_can_do_is_named_with_what_is_missing():
    plan = Plan((PlannedTask("fly", "Fly", capabilities=("flying", "sql")),))
    with pytest.raises(AssignmentError, match="task 'fly': nobody has 'flying'") as caught:
        await assign_tasks(plan, TEAM)
    assert caught.value.code == "no_assignee"
    both = Plan((PlannedTask("both", "Both", capabilities=("sql", "writing")),))
    with pytest.raises(AssignmentError, match="nobody has all of 'sql', 'writing'"):
        await assign_tasks(both, TEAM)


async def test_a_given_assignee_must_qualify():
    result = await assign_tasks(PLAN, TEAM, given={"draft": "wes"})
    assert next(a for a in result if a.task == "draft").how == "given"
    with pytest.raises(AssignmentError, match="'rae' was named for it but does not qualify"):
        await assign_tasks(PLAN, TEAM, given={"draft": "rae"})


def test_candidates_are_agents_by_name_and_people_by_id():
    assert Candidate("p-1", "person", frozenset({"approval", "writing"})) in TEAM
