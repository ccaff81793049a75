"""Group commit: many callers' writes (commits of many runs, leases taken and dropped) done in one
transaction (``together.py``), gathered by the async backend (``group.py``). Each write of a group
must be decided as if it were done alone, in order: the same outcome and the same stored state."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import attrs
import pytest
import sqlalchemy as sa
from sql_servers import PostgresServer, schema_name
from vrooli_sqlalchemy import SQLStorage, together
from vrooli_sqlalchemy.store import SyncStore
from vrooli_sqlalchemy.tables import events, leases, run_labels, runs, waits
from vrooli_sqlalchemy.together import Acquire, Release, alone, write_together
from vrooli_sqlalchemy.url import parse_url

from vrooli_core.errors import DuplicateEventError, LeaseHeldError, NotFoundError, StorageError
from vrooli_core.model import Event, RunStatus, WaitKind
from vrooli_core.model.events import VariablesSet
from vrooli_core.serialization import make_converter
from vrooli_core.storage.base import Commit, LeaseTerms
from vrooli_core.testing.conformance import _storage_data as data

T0 = data.T0
RUNS = ("r0", "r1", "r2", "r3")
#: Never created: commits to it are refused, leases on it are not.
GHOST = "ghost"
OWNERS = ("a", "b", "c")
WAITS = ("w0", "w1", "w2", "w3", "w4", "w5")
LABELS = ({}, {"team": "ops"}, {"team": "dev"}, {"team": "ops", "tier": "1"})
STATUSES = (RunStatus.RUNNING, RunStatus.WAITING, RunStatus.COMPLETED)


class Unstorable:
    """A value JSON cannot encode."""


# -- stores -----------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def new_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Fresh, empty stores (``new_url(name)``), each on a file or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield lambda name: f"sqlite:///{tmp_path / name}.db"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    schemas: list[str] = []

    def make(name: str) -> str:
        schemas.append(schema_name(f"{request.node.name}_{name}"))
        return server.url(schemas[-1])

    try:
        yield make
    finally:
        for schema in schemas:
            server.drop(schema)


@pytest.fixture
def open_stores() -> Iterator[Callable[[str], SyncStore]]:
    """Open a ``SyncStore`` on a URL; every one is closed after the test."""
    opened: list[SyncStore] = []

    def open_store(url: str) -> SyncStore:
        opened.append(SyncStore.open(parse_url(url), make_converter()))
        return opened[-1]

    yield open_store
    for store in opened:
        store.close()


def together_(store: SyncStore, writes: list[Any]) -> list[Any]:
    """As the backend does it: through ``call`` (database failures typed)."""
    return store.call(write_together, store, writes)


# -- what is stored ---------------------------------------------------------------------------


def _rows(conn: sa.Connection, table: sa.Table, *order: Any) -> list[tuple[Any, ...]]:
    columns = [c for c in table.columns if c.name != "position"]
    order_by = order or ((table.c.position,) if "position" in table.c else ())
    return [tuple(row) for row in conn.execute(sa.select(*columns).order_by(*order_by))]


def stored_state(store: SyncStore) -> dict[str, Any]:
    """Everything the store holds about runs, waits and leases, through the store's reads and as
    rows (in the order of their ``position``, which decides "oldest first"; the numbers
    themselves may differ)."""
    state: dict[str, Any] = {}
    for run_id in (*RUNS, GHOST):
        for name, read in (("events", lambda r: store.read_events(r, 0, None)), ("run", store.get_run)):
            try:
                state[f"{name} {run_id}"] = read(run_id)
            except NotFoundError as exc:
                state[f"{name} {run_id}"] = type(exc).__name__
    state["find_waits"] = store.find_waits(None, None, None, None, None, None)
    state["find_waits due"] = store.find_waits(None, None, None, None, T0 + 10**6, None)
    state["list_runs"] = store.list_runs(None, None, None, None, 100)
    for labels in LABELS[1:]:
        state[f"list_runs {labels}"] = [r.id for r in store.list_runs(None, None, None, labels, 100)]
    with store.db.read() as conn:
        state["table runs"] = _rows(conn, runs)
        state["table run_labels"] = _rows(conn, run_labels, run_labels.c.run_id, run_labels.c.name)
        state["table events"] = _rows(conn, events, events.c.run_id, events.c.seq)
        state["table waits"] = _rows(conn, waits)
        state["table leases"] = _rows(conn, leases, leases.c.run_id)
    return state


def state_differences(grouped: dict[str, Any], single: dict[str, Any], what: str) -> list[str]:
    assert grouped.keys() == single.keys()
    return [
        f"{what}: {key} differs\n  together: {_brief(grouped[key])}\n  alone:    {_brief(single[key])}"
        for key in grouped
        if grouped[key] != single[key]
    ]


def assert_same_state(grouped: dict[str, Any], single: dict[str, Any], what: str) -> None:
    differences = state_differences(grouped, single, what)
    assert not differences, "\n".join(differences)


def _brief(value: Any) -> Any:
    """Records shown by id (and a wait's name), so a difference in order is easy to read."""
    if isinstance(value, list) and value and hasattr(value[0], "id"):
        return [(v.id, v.spec.name) if hasattr(v, "spec") else v.id for v in value]
    if isinstance(value, list) and value and isinstance(value[0], tuple):
        return [row[:3] for row in value]  # table rows: their keys
    return value


def same_outcome(grouped: Any, single: Any) -> bool:
    if isinstance(single, BaseException):
        if type(grouped) is not type(single):
            return False
        if isinstance(single, LeaseHeldError):
            return (grouped.run_id, grouped.holder) == (single.run_id, single.holder)
        return True
    return not isinstance(grouped, BaseException) and grouped == single


def describe(outcome: Any) -> str:
    return f"{type(outcome).__name__}({outcome})" if isinstance(outcome, BaseException) else repr(outcome)


# -- random writes ----------------------------------------------------------------------------


class RandomWrites:
    """Writes over a few runs, mostly sensible (the next sequence number as far as it can tell),
    some refused: duplicates, gaps, unknown runs, leases held by another owner, unstorable values."""

    KINDS = ("create", "append", "waits", "ghost", "acquire", "release", "unstorable", "relabel")
    WEIGHTS = (3, 8, 4, 1, 3, 2, 1, 2)

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.now = T0
        #: run id -> the last sequence number it probably has.
        self.last: dict[str, int] = {}

    def make(self, count: int) -> list[Any]:
        return [self.one() for _ in range(count)]

    def one(self) -> Any:
        self.now += self.rng.choice((0, 1, 5, 15, 40))
        kind = self.rng.choices(self.KINDS, self.WEIGHTS)[0]
        write: Any = getattr(self, kind)()
        return write

    def _run(self) -> str:
        known = list(self.last)
        return self.rng.choice(known) if known and self.rng.random() < 0.8 else self.rng.choice(RUNS)

    def _record(self, run_id: str, last_seq: int) -> Any:
        return data.run(
            run_id,
            status=self.rng.choice(STATUSES),
            labels=self.rng.choice(LABELS),
            at=T0 + RUNS.index(run_id) if run_id in RUNS else T0,
            last_seq=last_seq,
        )

    def _puts(self, run_id: str) -> tuple[Any, ...]:
        if self.rng.random() < 0.5:
            return ()
        ids = self.rng.sample(WAITS, self.rng.randint(1, 2))
        puts = []
        for wait_id in ids:
            kind = self.rng.choice((WaitKind.HUMAN, WaitKind.TIMER, WaitKind.MESSAGE))
            due = self.now + self.rng.randint(1, 100) if kind is WaitKind.TIMER else None
            name = self.rng.choice(("", "go", "tick"))
            puts.append(data.wait(wait_id, run_id, kind, name=name, due=due, at=self.now))
        return tuple(puts)

    def _drops(self) -> tuple[str, ...]:
        return tuple(self.rng.sample(WAITS, self.rng.randint(1, 2))) if self.rng.random() < 0.4 else ()

    def _lease(self) -> LeaseTerms | None:
        if self.rng.random() < 0.3:
            return LeaseTerms(self.rng.choice(OWNERS), self.now, self.now + self.rng.choice((5, 30, 60)))
        return None

    def _release(self) -> str | None:
        return self.rng.choice(OWNERS) if self.rng.random() < 0.2 else None

    def create(self) -> Commit:
        run_id = self.rng.choice(RUNS)
        self.last.setdefault(run_id, 1)
        evs = (data.created(run_id, at=self.now),) if self.rng.random() < 0.9 else ()
        return Commit(
            run_id, evs, self._record(run_id, 1), self._puts(run_id), self._drops(), self._lease(), self._release()
        )

    def append(self) -> Commit:
        run_id = self._run()
        last = self.last.get(run_id, 0)
        first = max(1, last + 1 + self.rng.choice((0, 0, 0, 0, 0, -1, 1, 2)))
        count = self.rng.randint(1, 3)
        evs = [data.filler(run_id, seq, at=self.now) for seq in range(first, first + count)]
        if self.rng.random() < 0.05:  # an event of another run in the middle
            evs[-1] = data.filler("r9", evs[-1].seq, at=self.now)
        if first == last + 1 and run_id in self.last:
            self.last[run_id] = first + count - 1
        record = self._record(run_id, first + count - 1) if self.rng.random() < 0.4 else None
        return Commit(run_id, tuple(evs), record, self._puts(run_id), self._drops(), self._lease(), self._release())

    def waits(self) -> Commit:
        run_id = self._run()
        return Commit(run_id, (), None, self._puts(run_id), self._drops(), self._lease(), self._release())

    def relabel(self) -> Commit:
        run_id = self._run()
        return Commit(run_id, run=self._record(run_id, self.last.get(run_id, 1)), lease=self._lease())

    def ghost(self) -> Commit:
        evs = (data.filler(GHOST, 1, at=self.now),) if self.rng.random() < 0.5 else ()
        return Commit(GHOST, evs, None, self._puts(GHOST), self._drops(), self._lease(), self._release())

    def acquire(self) -> Acquire:
        run_id = self.rng.choice((*RUNS, GHOST))
        return Acquire(run_id, self.rng.choice(OWNERS), self.now, self.now + self.rng.choice((5, 30, 60)))

    def release(self) -> Release:
        return Release(self.rng.choice((*RUNS, GHOST)), self.rng.choice(OWNERS))

    def unstorable(self) -> Commit:
        run_id = self._run()
        seq = self.last.get(run_id, 0) + 1
        if self.rng.random() < 0.5:
            bad = Event(run_id, seq, self.now, VariablesSet({"bad": Unstorable()}, reason="test"))
            return Commit(run_id, (bad,), None, self._puts(run_id), self._drops(), self._lease())
        record = attrs.evolve(self._record(run_id, seq), inputs={"bad": Unstorable()})
        return Commit(run_id, (data.filler(run_id, seq, at=self.now),), record, self._puts(run_id))


def split(rng: random.Random, writes: list[Any]) -> list[list[Any]]:
    groups, start = [], 0
    while start < len(writes):
        size = rng.randint(1, 12)
        groups.append(writes[start : start + size])
        start += size
    return groups


def differences(
    grouped_store: SyncStore, single_store: SyncStore, groups: list[list[Any]], what: str
) -> tuple[list[Any], list[str]]:
    """Do ``groups`` with ``write_together`` on one store and each write alone on the other; the
    outcomes (alone), and every difference between the two ways: in outcomes and stored states."""
    outcomes: list[Any] = []
    found: list[str] = []
    for n, group in enumerate(groups):
        grouped = together_(grouped_store, group)
        single = [alone(single_store, write) for write in group]
        assert len(grouped) == len(group)
        for i, (write, g, s) in enumerate(zip(group, grouped, single, strict=True)):
            if not same_outcome(g, s):
                found.append(
                    f"{what}, group {n}, write {i}: {write!r}\n  together: {describe(g)}\n  alone:    {describe(s)}"
                )
        outcomes += single
    found += state_differences(stored_state(grouped_store), stored_state(single_store), what)
    return outcomes, found


def compare(grouped_store: SyncStore, single_store: SyncStore, groups: list[list[Any]], what: str) -> list[Any]:
    """``differences``, asserting there are none; the outcomes."""
    outcomes, found = differences(grouped_store, single_store, groups, what)
    assert not found, "\n".join(found)
    return outcomes


# -- 1. equivalence ---------------------------------------------------------------------------


def test_a_group_decides_each_write_as_if_it_were_alone(new_url, open_stores) -> None:
    """Random sequences of writes, in random groups: the same outcome for each write, and the same
    stored state, as when every write is done alone in order."""
    seen: set[str] = set()
    problems: list[str] = []  # every seed is run: the report shows all that differs
    for seed in range(6):
        rng = random.Random(seed)
        writes = RandomWrites(rng).make(150)
        grouped_store = open_stores(new_url(f"grouped{seed}"))
        single_store = open_stores(new_url(f"single{seed}"))
        outcomes, found = differences(grouped_store, single_store, split(rng, writes), f"seed {seed}")
        problems += found
        for write, outcome in zip(writes, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                seen.add(type(outcome).__name__)
            elif isinstance(write, Acquire):
                seen.add("acquired" if outcome is None else "held")
            else:
                seen.add(f"{type(write).__name__} stored")
    # The writes meant to be refused were, each way: the test compared something.
    expected = {"NotFoundError", "DuplicateEventError", "StorageError", "LeaseHeldError", "acquired", "held"}
    assert expected | {"Commit stored", "Release stored"} <= seen, seen
    assert not problems, f"{len(problems)} differences:\n" + "\n".join(problems)


def test_a_wait_put_dropped_and_put_again_in_one_group(new_url, open_stores) -> None:
    """Waits changed several times in one group end as they would alone: in the same order
    (``find_waits`` is oldest first; a wait dropped and put again is new)."""
    before = [
        Commit("r0", (data.created("r0"),), data.run("r0"), (data.wait("w0", "r0"), data.wait("w1", "r0"))),
    ]
    group = [
        Commit("r0", (data.filler("r0", 2),), put_waits=(data.wait("w2", "r0"),)),
        Commit("r0", (data.filler("r0", 3),), drop_waits=("w2", "w0")),  # a new one and an old one
        Commit("r0", (data.filler("r0", 4),), put_waits=(data.wait("w3", "r0"),)),
        Commit("r0", (data.filler("r0", 5),), put_waits=(data.wait("w2", "r0", name="again"),)),
        Commit("r0", (data.filler("r0", 6),), put_waits=(data.wait("w0", "r0", name="again"),)),
        Commit("r0", (data.filler("r0", 7),), put_waits=(data.wait("w1", "r0", name="changed"),)),
    ]
    grouped_store = open_stores(new_url("grouped"))
    single_store = open_stores(new_url("single"))
    compare(grouped_store, single_store, [before], "before")
    outcomes = compare(grouped_store, single_store, [group], "the group")
    assert outcomes == [None] * len(group)
    # Alone: w1 kept its place (its values replaced); w3, w2 and w0 came after it, in that order.
    found = grouped_store.find_waits(None, None, None, None, None, None)
    assert [(w.id, w.spec.name) for w in found] == [("w1", "changed"), ("w3", ""), ("w2", "again"), ("w0", "again")]


def test_leases_in_one_group(new_url, open_stores) -> None:
    """Leases taken, refused, extended, ended and dropped by writes of one group, as alone."""
    grouped_store = open_stores(new_url("grouped"))
    single_store = open_stores(new_url("single"))
    setup = [
        Commit("r0", (data.created("r0"),), data.run("r0")),
        Commit("r1", (data.created("r1"),), data.run("r1"), lease=LeaseTerms("b", T0, T0 + 30)),
    ]
    compare(grouped_store, single_store, [setup], "setup")
    group = [
        Acquire("r0", "a", T0, T0 + 30),  # taken
        Commit("r0", (data.filler("r0", 2),), lease=LeaseTerms("b", T0 + 1, T0 + 31)),  # refused: a holds it
        Commit("r0", (data.filler("r0", 2),), lease=LeaseTerms("a", T0 + 1, T0 + 61)),  # extended
        Acquire("r0", "b", T0 + 40, T0 + 70),  # a's extended lease: held
        Commit("r1", (data.filler("r1", 2),), lease=LeaseTerms("a", T0 + 30, T0 + 60)),  # b's ended: taken over
        Release("r1", "b"),  # not b's any more: nothing
        Acquire("r2", "c", T0, T0 + 5),  # a run that does not exist
        Commit("r2", (data.created("r2"),), data.run("r2"), lease=LeaseTerms("a", T0 + 1, T0 + 30)),  # refused
        Commit("r2", (data.created("r2"),), data.run("r2"), lease=LeaseTerms("c", T0 + 1, T0 + 30), release="c"),
        Acquire("r2", "a", T0 + 2, T0 + 32),  # c let it go with its creation commit
        Commit("r0", (data.filler("r0", 3),), release="a"),  # dropped
        Commit("r0", (data.filler("r0", 4),), lease=LeaseTerms("b", T0 + 2, T0 + 9)),  # taken again
        Commit(GHOST, (data.filler(GHOST, 1),), lease=LeaseTerms("a", T0, T0 + 30)),  # refused: no such run
        Acquire(GHOST, "b", T0, T0 + 30),  # so the lease is free
    ]
    outcomes = compare(grouped_store, single_store, [group], "the group")
    kinds = [type(o).__name__ if isinstance(o, BaseException) else o for o in outcomes]
    assert kinds == [
        None,
        "LeaseHeldError",
        None,
        "a",
        None,
        None,
        None,
        "LeaseHeldError",
        None,
        None,
        None,
        None,
        "NotFoundError",
        None,
    ]
    with grouped_store.db.read() as conn:
        held = _rows(conn, leases, leases.c.run_id)
    assert held == [(GHOST, "b", T0 + 30), ("r0", "b", T0 + 9), ("r1", "a", T0 + 60), ("r2", "a", T0 + 32)]


# -- 2. a value that cannot be stored ---------------------------------------------------------


def test_a_value_that_cannot_be_stored_refuses_only_its_own_write(new_url, open_stores) -> None:
    store = open_stores(new_url("store"))
    bad_event = Event("r0", 2, T0, VariablesSet({"bad": Unstorable()}, reason="test"))
    bad_record = attrs.evolve(data.run("r1"), inputs={"bad": Unstorable()})
    group = [
        Commit("r0", (data.created("r0"),), data.run("r0"), (data.wait("w0", "r0"),)),
        Commit(
            "r0", (bad_event,), data.run("r0", last_seq=2, labels={"team": "bad"}), (data.wait("w1", "r0"),), ("w0",)
        ),
        Commit("r0", (data.filler("r0", 2),), put_waits=(data.wait("w2", "r0"),)),
        Commit("r1", (data.created("r1"),), bad_record, (data.wait("w3", "r1"),), lease=LeaseTerms("a", T0, T0 + 9)),
        Commit("r2", (data.created("r2"),), data.run("r2")),
        Acquire("r1", "b", T0, T0 + 30),
    ]
    outcomes = together_(store, group)
    assert [type(o).__name__ for o in outcomes] == [
        "NoneType",
        "StorageError",
        "NoneType",
        "StorageError",
        "NoneType",
        "NoneType",
    ]
    assert "cannot be stored as JSON" in str(outcomes[1]) and "cannot be stored as JSON" in str(outcomes[3])
    assert [e.seq for e in store.read_events("r0", 0, None)] == [1, 2]
    assert store.read_events("r0", 0, None)[1] == data.filler("r0", 2)
    assert store.get_run("r0") == data.run("r0")
    assert store.list_runs(None, None, None, {"team": "bad"}, 10) == []
    assert [w.id for w in store.find_waits(None, None, None, None, None, None)] == ["w0", "w2"]
    with pytest.raises(NotFoundError):
        store.get_run("r1")
    with pytest.raises(NotFoundError):
        store.read_events("r1", 0, None)
    assert store.get_run("r2") == data.run("r2")
    assert outcomes[5] is None  # the refused commit's lease was not taken: b got it


# -- 3. concurrency through the async backend -------------------------------------------------


@pytest.mark.anyio
async def test_commits_made_at_once_share_transactions(new_url) -> None:
    storage = SQLStorage.from_url(new_url("store"), converter=make_converter())
    await storage.open()
    try:
        count = 40
        storage._group.sizes = []
        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for i in range(count):
                    run_id = f"run-{i:02}"
                    tg.start_soon(storage.commit, Commit(run_id, (data.created(run_id),), data.run(run_id)))
        assert sum(storage._group.sizes) == count
        assert max(storage._group.sizes) > 1, storage._group.sizes

        # Then each run moves on at once with appends, waits, leases taken and dropped.
        async def move(i: int) -> None:
            run_id = f"run-{i:02}"
            owner = f"owner-{i % 3}"
            assert await storage.acquire_lease(run_id, owner, now=T0, until=T0 + 30) is None
            for seq in range(2, 5):
                await storage.commit(
                    Commit(run_id, (data.filler(run_id, seq),), put_waits=(data.wait(f"{run_id}-w{seq}", run_id),))
                )
            await storage.commit(
                Commit(
                    run_id,
                    (data.filler(run_id, 5),),
                    data.run(run_id, status=RunStatus.WAITING, last_seq=5),
                    drop_waits=(f"{run_id}-w2",),
                    lease=LeaseTerms(owner, T0 + 1, T0 + 31),
                    release=owner,
                )
            )
            assert await storage.acquire_lease(run_id, "someone", now=T0 + 2, until=T0 + 32) is None
            await storage.release_lease(run_id, "someone")

        storage._group.sizes = []
        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for i in range(count):
                    tg.start_soon(move, i)
        assert max(storage._group.sizes) > 1, storage._group.sizes
        for i in range(count):
            run_id = f"run-{i:02}"
            assert [e.seq for e in await storage.read_events(run_id)] == [1, 2, 3, 4, 5]
            assert (await storage.get_run(run_id)).status is RunStatus.WAITING
            assert [w.id for w in await storage.find_waits(run_id=run_id)] == [f"{run_id}-w3", f"{run_id}-w4"]
            assert await storage.acquire_lease(run_id, "last", now=T0 + 3, until=T0 + 33) is None
    finally:
        await storage.close()


@pytest.mark.anyio
async def test_refused_commits_made_at_once_fail_alone(new_url) -> None:
    """Commits gathered into one transaction, some of them refused: each caller gets its own outcome."""
    storage = SQLStorage.from_url(new_url("store"), converter=make_converter())
    await storage.open()
    try:
        await storage.commit(Commit("r0", (data.created("r0"),), data.run("r0")))
        assert await storage.acquire_lease("held", "b", now=T0, until=T0 + 30) is None
        outcomes: dict[str, Any] = {}

        async def attempt(name: str, commit: Commit) -> None:
            try:
                await storage.commit(commit)
                outcomes[name] = None
            except StorageError as exc:
                outcomes[name] = type(exc)

        attempts = {
            "duplicate": Commit("r0", (data.filler("r0", 1),)),
            "gap": Commit("r0", (data.filler("r0", 9),)),
            "ghost": Commit(GHOST, (data.filler(GHOST, 1),)),
            "held": Commit("held", (data.created("held"),), data.run("held"), lease=LeaseTerms("a", T0, T0 + 30)),
            "unstorable": Commit("r0", (Event("r0", 2, T0, VariablesSet({"x": Unstorable()}, "t")),)),
            **{f"new-{i}": Commit(f"new-{i}", (data.created(f"new-{i}"),), data.run(f"new-{i}")) for i in range(10)},
        }
        storage._group.sizes = []
        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                for name, commit in attempts.items():
                    tg.start_soon(attempt, name, commit)
        assert max(storage._group.sizes) > 1, storage._group.sizes
        assert outcomes == {
            "duplicate": DuplicateEventError,
            "gap": StorageError,
            "ghost": NotFoundError,
            "held": LeaseHeldError,
            "unstorable": StorageError,
            **{f"new-{i}": None for i in range(10)},
        }
        assert [e.seq for e in await storage.read_events("r0")] == [1]
        assert len(await storage.list_runs()) == 11
    finally:
        await storage.close()


# -- 4. cancellation --------------------------------------------------------------------------


class Gates:
    """``write_together`` made to wait, in its worker thread, until the test lets each of the first
    transactions go on; what each transaction was given is noted."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, held: int) -> None:
        self.calls: list[list[Any]] = []
        self.entered = [threading.Event() for _ in range(held)]
        self.gates = [threading.Event() for _ in range(held)]
        real = together.write_together

        def gated(store: SyncStore, writes: list[Any]) -> list[Any]:
            n = len(self.calls)
            self.calls.append(list(writes))
            if n < held:
                self.entered[n].set()
                assert self.gates[n].wait(20), "the test never let the transaction go on"
            return real(store, writes)

        monkeypatch.setattr(together, "write_together", gated)

    async def wait_entered(self, n: int) -> None:
        assert await anyio.to_thread.run_sync(self.entered[n].wait, 20)

    def open_all(self) -> None:
        for gate in self.gates:
            gate.set()


async def _queued(storage: SQLStorage, count: int) -> None:
    """Until ``count`` writes wait for the next transaction."""
    with anyio.fail_after(10):
        while len(storage._group._next.writes) < count:
            await anyio.sleep(0.005)


def _created(run_id: str) -> Commit:
    return Commit(run_id, (data.created(run_id),), data.run(run_id), (data.wait(f"{run_id}-w", run_id),))


@pytest.mark.anyio
async def test_a_caller_cancelled_before_its_write_was_taken_writes_nothing(new_url, monkeypatch) -> None:
    storage = SQLStorage.from_url(new_url("store"), converter=make_converter())
    await storage.open()
    gates = Gates(monkeypatch, held=1)
    done: list[str] = []

    async def commit(run_id: str, scope: anyio.CancelScope | None = None) -> None:
        with scope or anyio.CancelScope():
            await storage.commit(_created(run_id))
            done.append(run_id)

    try:
        cancelled = anyio.CancelScope()
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                tg.start_soon(commit, "first")
                await gates.wait_entered(0)  # the first transaction is under way
                tg.start_soon(commit, "cancelled", cancelled)
                await _queued(storage, 1)
                tg.start_soon(commit, "third")
                await _queued(storage, 2)
                cancelled.cancel()
                await anyio.sleep(0.05)
                gates.open_all()
        assert cancelled.cancelled_caught
        assert sorted(done) == ["first", "third"]
        # The cancelled write was withdrawn: the next transaction did the other one only.
        assert [[w.run_id for w in call] for call in gates.calls] == [["first"], ["third"]]
        with pytest.raises(NotFoundError):
            await storage.get_run("cancelled")
        with pytest.raises(NotFoundError):
            await storage.read_events("cancelled")
        assert [w.id for w in await storage.find_waits()] == ["first-w", "third-w"]
        for run_id in ("first", "third"):
            assert [e.seq for e in await storage.read_events(run_id)] == [1]
        # The run can be created later: nothing of the withdrawn write is left behind.
        await storage.commit(_created("cancelled"))
        assert [e.seq for e in await storage.read_events("cancelled")] == [1]
    finally:
        await storage.close()


@pytest.mark.anyio
async def test_a_caller_cancelled_after_its_write_was_taken_waits_for_it(new_url, monkeypatch) -> None:
    """A write taken into a transaction is done even when its caller is cancelled meanwhile (a
    commit is never abandoned half way): the caller waits for the transaction before it goes."""
    storage = SQLStorage.from_url(new_url("store"), converter=make_converter())
    await storage.open()
    gates = Gates(monkeypatch, held=2)
    done: list[str] = []

    async def commit(run_id: str, scope: anyio.CancelScope) -> None:
        with scope:
            await storage.commit(_created(run_id))
            done.append(run_id)

    try:
        scopes = {name: anyio.CancelScope() for name in ("first", "second", "third")}
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                tg.start_soon(commit, "first", scopes["first"])
                await gates.wait_entered(0)
                tg.start_soon(commit, "second", scopes["second"])
                await _queued(storage, 1)
                tg.start_soon(commit, "third", scopes["third"])
                await _queued(storage, 2)
                scopes["first"].cancel()  # its transaction is under way
                await anyio.sleep(0.05)
                gates.gates[0].set()
                await gates.wait_entered(1)  # the second transaction took "second" and "third"
                scopes["third"].cancel()
                await anyio.sleep(0.05)
                gates.gates[1].set()
        assert [[w.run_id for w in call] for call in gates.calls] == [["first"], ["second", "third"]]
        assert "second" in done
        for run_id in ("first", "second", "third"):
            assert [e.seq for e in await storage.read_events(run_id)] == [1]
            assert (await storage.get_run(run_id)).id == run_id
    finally:
        await storage.close()


# -- 5. a group the database refuses: each write alone ----------------------------------------


def test_a_group_that_fails_on_a_unique_violation_is_done_write_by_write(new_url, open_stores, monkeypatch) -> None:
    """The group's transaction fails after its writes (an IntegrityError, as from a row another
    process inserted): it is rolled back, and every write is done alone, with its own outcome."""
    grouped_store = open_stores(new_url("grouped"))
    single_store = open_stores(new_url("single"))
    setup = [
        Commit("r0", (data.created("r0"),), data.run("r0"), (data.wait("w0", "r0"),)),
        Commit("r1", (data.created("r1"),), data.run("r1")),
    ]
    compare(grouped_store, single_store, [setup], "setup")
    real = together._View.store
    failures: list[int] = []

    def store_then_fail(view: Any, conn: sa.Connection) -> None:
        real(view, conn)  # the rows are written, then the transaction fails: none may remain
        if not failures:
            failures.append(1)
            raise sa.exc.IntegrityError("INSERT INTO vrooli_runs …", {}, Exception("forced unique violation"))

    monkeypatch.setattr(together._View, "store", store_then_fail)
    alone_calls: list[Any] = []
    real_alone = together.alone

    def counted(store: SyncStore, write: Any) -> Any:
        alone_calls.append(write)
        return real_alone(store, write)

    monkeypatch.setattr(together, "alone", counted)
    group = [
        Commit(
            "r0", (data.filler("r0", 2),), data.run("r0", labels={"team": "ops"}), (data.wait("w1", "r0"),), ("w0",)
        ),
        Commit("r0", (data.filler("r0", 2),)),  # duplicate of the one before
        Commit("r2", (data.created("r2"),), data.run("r2"), lease=LeaseTerms("a", T0, T0 + 30)),
        Commit("r1", (data.filler("r1", 3),)),  # gap
        Commit(GHOST, (data.filler(GHOST, 1),)),
        Acquire("r2", "b", T0 + 1, T0 + 31),
        Commit("r2", (data.filler("r2", 2),), release="a"),
        Acquire("r2", "b", T0 + 2, T0 + 32),
        Release("r2", "b"),
        Commit("r1", (Event("r1", 2, T0, VariablesSet({"x": Unstorable()}, "t")),)),
    ]
    grouped = together_(grouped_store, group)
    assert failures == [1]
    # Every write the group was given was done again alone (the unstorable one never reached it).
    assert alone_calls == [w for i, w in enumerate(group) if i != 9]
    monkeypatch.setattr(together, "alone", real_alone)
    single = [alone(single_store, write) for write in group]
    assert [type(o).__name__ if isinstance(o, BaseException) else o for o in grouped] == [
        None,
        "DuplicateEventError",
        None,
        "StorageError",
        "NotFoundError",
        "a",
        None,
        None,
        None,
        "StorageError",
    ]
    for i, (g, s) in enumerate(zip(grouped, single, strict=True)):
        assert same_outcome(g, s), (i, describe(g), describe(s))
    assert_same_state(stored_state(grouped_store), stored_state(single_store), "after the fallback")


def test_a_run_another_process_creates_meanwhile(postgres_url: str, open_stores, monkeypatch) -> None:
    """PostgreSQL: another connection creates a run the group creates too, between the group's
    reads and its writes. The group's insert fails (unique violation), and each write is done alone:
    the group's creation of that run is refused as a duplicate, the other writes are stored."""
    store = open_stores(postgres_url)
    other = open_stores(postgres_url)
    store.commit(Commit("r0", (data.created("r0"),), data.run("r0")))
    theirs = Commit("r1", (data.created("r1", at=T0 + 5),), data.run("r1", labels={"by": "them"}))
    real_read = together._View.read
    raced: list[Any] = []

    def read_then_race(cls: type, conn: sa.Connection, todo: list[Any]) -> Any:
        view = real_read(conn, todo)
        if not raced:
            raced.append(other.call(other.commit, theirs))
        return view

    monkeypatch.setattr(together._View, "read", classmethod(read_then_race))
    group = [
        Commit("r0", (data.filler("r0", 2),), put_waits=(data.wait("w0", "r0"),)),
        Commit("r1", (data.created("r1"),), data.run("r1"), lease=LeaseTerms("a", T0, T0 + 30)),
        Commit("r2", (data.created("r2"),), data.run("r2")),
        Acquire("r0", "b", T0, T0 + 30),
    ]
    outcomes = together_(store, group)
    assert raced == [None]
    assert [type(o).__name__ if isinstance(o, BaseException) else o for o in outcomes] == [
        None,
        "DuplicateEventError",
        None,
        None,
    ]
    assert [e.seq for e in store.read_events("r0", 0, None)] == [1, 2]
    assert store.read_events("r1", 0, None) == [data.created("r1", at=T0 + 5)]
    assert store.get_run("r1").labels == {"by": "them"}
    assert store.get_run("r2") == data.run("r2")
    assert [w.id for w in store.find_waits(None, None, None, None, None, None)] == ["w0"]
    # The refused creation did not take r1's lease; b's lease on r0 was taken.
    assert store.acquire_lease("r1", "c", T0, T0 + 30) is None
    assert store.acquire_lease("r0", "c", T0, T0 + 30) == "b"
