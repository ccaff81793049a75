"""A swarm through vrooli-litellm: the default planner asks a model (litellm's ``mock_response``) for a
plan as structured output; agents work on an offline model; the planner's cost counts against the
swarm's budget."""

from __future__ import annotations

import json

import pytest

from vrooli_core import Engine
from vrooli_core.coordination import Agent, SwarmLimits, SwarmStatus, Team
from vrooli_core.coordination.planner import default_planner
from vrooli_core.coordination.swarms import SwarmRunner
from vrooli_core.plugins import PluginHost

pytestmark = pytest.mark.anyio

TEAM = Team(
    "desk",
    "Help desk",
    agents=(
        Agent("reader", "reader", instructions="Read carefully.", model="offline/echo", capabilities=("read",)),
        Agent("writer", "writer", model="offline/echo", capabilities=("write",)),
    ),
)
PLAN = {
    "tasks": [
        {"id": "read", "title": "Read the ticket", "capabilities": ["read"], "estimate": 1},
        {"id": "reply", "title": "Draft a reply", "capabilities": ["write"], "depends_on": ["read"], "estimate": 1},
    ]
}


async def test_the_default_planner_plans_through_litellm_and_agents_work(host: PluginHost, store: str) -> None:
    planner = default_planner("gpt-4o-mini", config={"params": {"mock_response": json.dumps(PLAN)}})
    async with Engine.open(store, host=host) as engine:
        swarm = await SwarmRunner(engine, planner=planner, poll=0.05).run(TEAM, "Answer ticket 7", limits=SwarmLimits(credits=1_000))
        [planner_run] = [r for r in await engine.list_runs() if r.routine.id == "swarm.planner"]
    assert swarm.status is SwarmStatus.COMPLETED, swarm.report
    assert [t.assignee for t in swarm.tasks] == ["reader", "writer"]
    # The planner's model call was priced by litellm and counted as the swarm's spend.
    assert planner_run.usage.model_calls == 1 and planner_run.usage.cost > 0
    assert swarm.cost == pytest.approx(planner_run.usage.cost)
    # The writer got the reader's result as its input (the echo model answers with what it was given).
    reply = swarm.blackboard.get("task.reply")
    assert "Draft a reply" in reply and "Read the ticket" in reply
