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
