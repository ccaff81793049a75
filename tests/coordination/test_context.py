"""Task context (``vrooli_core.coordination.context``): inheritance, grants, compression."""

from __future__ import annotations

from vrooli_core.coordination import Agent, Member, Swarm, Team
from vrooli_core.coordination.context import build_context, estimate_tokens, granted
from vrooli_core.coordination.model import SwarmTask
from vrooli_core.coordination.plan import Plan, PlannedTask

TEAM = Team(
    "t",
    "T",
    goals=("g",),
    agents=(Agent("a", "analyst", permissions=("knowledge:style", "blackboard:notes")), Agent("b", "writer")),
    people=(Member("p", "Pat"),),
    knowledge={"style": "short", "secret": "s3cret", "manual": "x" * 20_000},
)
PLAN = Plan((PlannedTask("one", "One"), PlannedTask("two", "Two", "do two", depends_on=("one",))))


def swarm() -> Swarm:
    s = Swarm("s", "t", "the objective", agents=("a", "b"), plan=PLAN)
    s = s.write("task.one", "r" * 30_000, by="a", at=1.0)
    s = s.write("notes", "n", by="b", at=2.0).write("private", "p", by="b", at=3.0)
    tasks = (SwarmTask("one", "One", "a", status="completed"), SwarmTask("two", "Two", "b", depends_on=("one",)))
    return Swarm(s.id, s.team_id, s.objective, s.agents, blackboard=s.blackboard, plan=PLAN, tasks=tasks)


def test_an_agent_sees_its_inputs_and_only_what_it_was_granted():
    ctx = build_context(TEAM, swarm(), "two", TEAM.agent("a"))
    inputs = ctx.inputs
    assert inputs["task"] == {"id": "two", "title": "Two", "description": "do two", "depends_on": ["one"]}
    assert inputs["inputs"] == {"one": "r" * 30_000}  # a dependency's result is always its input
    assert inputs["context"]["team"]["knowledge"] == {"style": "short"}
    assert inputs["context"]["swarm"]["blackboard"] == {"notes": "n"}
    nothing = build_context(TEAM, swarm(), "two", TEAM.agent("b")).inputs["context"]
    assert nothing["team"]["knowledge"] == {} and nothing["swarm"]["blackboard"] == {}
    person = build_context(TEAM, swarm(), "two", TEAM.people[0]).inputs["context"]
    assert set(person["team"]["knowledge"]) == {"style", "secret", "manual"} and person["member"]["person"] == "p"
    assert granted(("knowledge:*",), "knowledge", "any") and not granted(("knowledge:x",), "blackboard", "x")


def test_a_context_over_the_window_is_compressed_and_says_what_was_cut():
    full = build_context(TEAM, swarm(), "two", TEAM.people[0])
    small = build_context(TEAM, swarm(), "two", TEAM.people[0], max_tokens=2_000)
    assert full.tokens > 12_000 and not full.compressed
    assert small.tokens <= 2_000 and small.tokens == estimate_tokens(small.inputs)
    assert small.compressed[0].startswith("texts shortened to")
    assert small.inputs["inputs"]["one"].startswith("rrrr") and "characters cut]" in small.inputs["inputs"]["one"]
    assert small.inputs["task"]["id"] == "two"  # the task itself is never dropped
