"""Teams and swarms round-trip through storage documents: the memory store and, when installed, SQLite."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from vrooli_core.coordination import Agent, CoordinationStore, Member, Swarm, SwarmLimits, Team, WriterKind
from vrooli_core.errors import NotFoundError, StorageError
from vrooli_core.serialization import make_converter
from vrooli_core.storage.base import StorageBackend
from vrooli_core.storage.memory import MemoryStorage

pytestmark = pytest.mark.anyio

TEAM = Team(
    "cs",
    "Customer Success",
    goals=("retain",),
    agents=(
        Agent("analyst", "Analyst", model="m", tools=("sql",), capabilities=("analysis",), budget=5.0),
        Agent("writer", "Writer", permissions=("write:docs",)),
    ),
    people=(Member("ana", "Ana", roles=("lead",)),),
    budget=100.0,
    knowledge={"tiers": ["free", "pro"], "nested": {"a": None, "b": 1.5, "c": True}},
)


def swarm() -> Swarm:
    s = Swarm("s1", "cs", "build onboarding", agents=("analyst", "writer"), limits=SwarmLimits(10.0, 60.0, 3))
    s = s.transition("planning").transition("running")
    s = s.write("plan", {"steps": ["a", "b"]}, by="analyst", at=1.5, run_id="run-1")
    s = s.write("plan", {"steps": ["a"]}, by="ana", by_kind=WriterKind.PERSON, at=2.0)
    return s.transition("completed")


STORES = ["memory", "sqlite"]


@pytest.fixture(params=STORES)
async def coordination(request: pytest.FixtureRequest, store: str, tmp_path: Path) -> AsyncIterator[CoordinationStore]:
    # backends are built directly: opening an Engine would load every installed plugin, and a plugin's
    # event types stay registered for the rest of the session (tests/test_model.py counts them)
    converter = make_converter()
    backend: StorageBackend
    if request.param == "memory":
        backend = MemoryStorage.from_url(store, converter=converter)
    else:
        if importlib.util.find_spec("vrooli_sqlalchemy") is None:
            # The kernel's own environment has no SQL backend; the plugin's suite runs these (its
            # test_coordination.py).
            pytest.skip("vrooli-sqlalchemy is not installed: the SQLite round trips run in the plugin's suite")
        from vrooli_sqlalchemy import SQLStorage

        backend = SQLStorage.from_url(f"sqlite:///{tmp_path / 'vrooli.db'}", converter=converter)
    await backend.open()
    try:
        yield CoordinationStore(backend, converter)
    finally:
        await backend.close()


async def test_round_trip(coordination: CoordinationStore) -> None:
    done = swarm()
    await coordination.put_team(TEAM)
    await coordination.put_swarm(done)
    await coordination.put_swarm(Swarm("s2", "other", "x"))
    assert await coordination.get_team("cs") == TEAM
    got = await coordination.get_swarm("s1")
    assert got == done
    assert got.blackboard.history("plan") == done.blackboard.history("plan")
    assert [t.id for t in await coordination.list_teams()] == ["cs"]
    assert sorted(s.id for s in await coordination.list_swarms()) == ["s1", "s2"]
    assert [s.id for s in await coordination.list_swarms("cs")] == ["s1"]


async def test_replace_and_delete(coordination: CoordinationStore) -> None:
    await coordination.put_swarm(Swarm("s", "cs", "x"))
    await coordination.put_swarm(Swarm("s", "cs", "x").transition("cancelled"))
    assert (await coordination.get_swarm("s")).status.value == "cancelled"
    await coordination.put_team(TEAM)
    await coordination.delete_team("cs")
    await coordination.delete_swarm("s")
    await coordination.delete_swarm("never")
    assert await coordination.list_teams() == [] and await coordination.list_swarms() == []


async def test_unknown_ids(coordination: CoordinationStore) -> None:
    with pytest.raises(NotFoundError, match="no team 'nope'"):
        await coordination.get_team("nope")
    with pytest.raises(NotFoundError, match="no swarm 'nope'"):
        await coordination.get_swarm("nope")


async def test_unreadable_document(coordination: CoordinationStore) -> None:
    await coordination.storage.put_doc("swarms", "bad", {"id": "bad", "team_id": "t"})
    with pytest.raises(StorageError, match="stored swarm 'bad' is unreadable"):
        await coordination.get_swarm("bad")


async def test_a_long_swarm_is_stored_in_chunks_and_a_save_rewrites_only_the_last_ones(coordination: CoordinationStore) -> None:
    from vrooli_core.coordination.model import SwarmEvent
    from vrooli_core.coordination.store import EVENT_CHUNK

    s = swarm()
    events = tuple(SwarmEvent(i, "task.completed", float(i), {"task": f"t{i}"}) for i in range(1, 2 * EVENT_CHUNK + 6))
    for i in range(EVENT_CHUNK + 3):
        s = s.write(f"task.t{i}", {"n": i}, by="analyst", at=float(i))
    s = Swarm(s.id, s.team_id, s.objective, s.agents, s.status, s.limits, s.blackboard, events=events)
    await coordination.put_swarm(s)
    assert await coordination.get_swarm("s1") == s
    light = await coordination.get_swarm("s1", events=False)
    assert light.events == () and light.blackboard == s.blackboard
    puts: list[str] = []
    real = coordination.storage.put_doc

    async def counting(collection, doc_id, doc):
        puts.append(collection)
        await real(collection, doc_id, doc)

    coordination.storage.put_doc = counting  # type: ignore[method-assign]
    more = Swarm(s.id, s.team_id, s.objective, s.agents, s.status, s.limits, s.blackboard, events=(*events, SwarmEvent(len(events) + 1, "x", 0.0)))
    await coordination.put_swarm(more)
    assert puts == ["swarm_events", "swarm_blackboard", "swarms"]  # the last chunks only
    assert await CoordinationStore(coordination.storage).get_swarm("s1") == more  # a fresh store reads it all
    await coordination.delete_swarm("s1")
    with pytest.raises(NotFoundError):
        await coordination.get_swarm("s1")
