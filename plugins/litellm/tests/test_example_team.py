"""The example team and plan in ``contrib/examples/teams`` run offline, through vrooli-litellm's echo
model, up to the lead's approval, and on to the end once it is given."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vrooli_core import Engine
from vrooli_core.coordination import SwarmRunner, SwarmStatus, load_team
from vrooli_core.coordination.plan import parse_plan
from vrooli_core.plugins import PluginHost

pytestmark = pytest.mark.anyio

TEAMS = Path(__file__).resolve().parents[3] / "contrib" / "examples" / "teams"


async def test_the_example_team_answers_a_ticket(host: PluginHost, store: str) -> None:
    team = load_team(TEAMS / "support.toml")
    plan = parse_plan(json.loads((TEAMS / "ticket-plan.json").read_text()))
    async with Engine.open(store, host=host) as engine:
        runner = SwarmRunner(engine, poll=0.05)
        swarm = await runner.run(team, "Ticket 7: I was charged twice for March.", plan=plan)
        assert swarm.status is SwarmStatus.RUNNING, swarm.report
        [task] = await engine.tasks()
        assert task.spec.assignee == "lee"
        await engine.complete_task(task.id, {"approved": True})
        swarm = await runner.resume(swarm.id)
    assert swarm.status is SwarmStatus.COMPLETED, swarm.report
    draft = swarm.blackboard.get("task.draft")
    # The echo model answers with what it was given: the writer saw the triage and only its grants.
    assert "Triage the ticket" in draft and "friendly, short" in draft
    assert swarm.blackboard.get("task.approve") == {"approved": True}
