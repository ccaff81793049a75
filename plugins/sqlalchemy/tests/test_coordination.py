"""The coordination tier's teams and swarms kept in SQL storage (SQLite and PostgreSQL): the kernel's
own store tests, run here where the SQL backend is installed."""

from __future__ import annotations

import pytest
from vrooli_sqlalchemy import SQLStorage

from vrooli_core.coordination import Agent, CoordinationStore, Member, Swarm, Team, WriterKind
from vrooli_core.errors import NotFoundError
from vrooli_core.serialization import make_converter

pytestmark = pytest.mark.anyio

TEAM = Team(
    "cs",
    "Customer Success",
    goals=("keep churn low",),
    agents=(Agent("analyst", "Data analyst", capabilities=("sql",), budget=5.0),),
    people=(Member("ana", "Ana", roles=("lead",)),),
    budget=100.0,
    knowledge={"product": "vrooli", "tiers": [1, 2]},
)


async def test_teams_and_swarms_round_trip(db_url: str) -> None:
    converter = make_converter()
    backend = SQLStorage.from_url(db_url, converter=converter)
    await backend.open()
    try:
        store = CoordinationStore(backend, converter)
        swarm = Swarm("s1", "cs", "Report churn").transition("planning")
        swarm = swarm.write("plan", {"steps": ["a"]}, by="ana", by_kind=WriterKind.PERSON, at=2.0, run_id="r1")
        await store.put_team(TEAM)
        await store.put_swarm(swarm)
        assert await store.get_team("cs") == TEAM
        assert await store.get_swarm("s1") == swarm
        with pytest.raises(NotFoundError):
            await store.get_swarm("nope")
    finally:
        await backend.close()


async def test_a_swarm_runs_on_sql_storage_and_resumes_in_another_engine(db_url: str, host) -> None:
    """A person's task parks the swarm; a new engine on the same database answers it and resumes."""
    from vrooli_core import Engine
    from vrooli_core.coordination import SwarmStatus
    from vrooli_core.coordination.plan import parse_plan
    from vrooli_core.coordination.swarms import SwarmRunner
    from vrooli_core.testing.fakes import FakeModelStrategy

    team = Team(
        "cs",
        "Customer Success",
        agents=(Agent("analyst", "Data analyst", capabilities=("sql",)),),
        people=(Member("ana", "Ana", capabilities=("review",)),),
        budget=10.0,
    )
    plan = parse_plan(
        {
            "tasks": [
                {"id": "q", "title": "Query churn", "capabilities": ["sql"], "estimate": 2},
                {"id": "ok", "title": "Check it", "capabilities": ["review"], "depends_on": ["q"]},
            ]
        }
    )
    host.register(FakeModelStrategy(default="churn is 2%").plugin(), "model")
    async with Engine.open(db_url, host=host) as engine:
        swarm = await SwarmRunner(engine, poll=0.05).run(team, "Report churn", plan=plan)
        assert swarm.status is SwarmStatus.RUNNING
        [task] = await engine.tasks()
    async with Engine.open(db_url, host=host) as engine:
        await engine.complete_task(task.id, {"fine": True})
        swarm = await SwarmRunner(engine, poll=0.05).resume(swarm.id)
        stored = await CoordinationStore(engine.storage).get_swarm(swarm.id)
    assert swarm.status is SwarmStatus.COMPLETED and stored == swarm
    assert swarm.blackboard.get("task.q") == "churn is 2%" and swarm.blackboard.get("task.ok") == {"fine": True}
    assert swarm.task("q").credits == 10.0 and swarm.plan == plan
