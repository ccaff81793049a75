"""The storage backend conformance suite: the whole :class:`~vrooli_core.storage.StorageBackend`
contract, then real engine runs on the backend."""

from __future__ import annotations

import copy
from typing import Any

import anyio
import pytest

from vrooli_core.errors import DuplicateEventError, NotFoundError, StorageError
from vrooli_core.model import Event, RunStatus, WaitKind
from vrooli_core.model.events import VariablesSet
from vrooli_core.storage.base import Commit, StorageBackend
from vrooli_core.testing.conformance import _storage_data as data
from vrooli_core.testing.conformance._storage_base import Stores
from vrooli_core.testing.conformance.storage_engine import StorageEngineTests

__all__ = ["StorageConformance", "Stores"]


class StorageConformance(StorageEngineTests, suite=True):
    """Standard tests for a :class:`~vrooli_core.storage.StorageBackend` plugin.

    Subclass it as ``Test…`` and supply:

    ``backend_class``        (required) the backend
    ``storage_url(name)``    (required unless ``make_storage`` is overridden) the URL of the store
                             called ``name``: the same name always opens the same store, a new name a
                             new, empty one
    ``make_storage(name, converter)``  async; a backend instance (not yet opened) on store ``name``;
                             by default ``backend_class.from_url(storage_url(name), converter=…)``
    ``drop_storage(name)``   async; removes store ``name`` after a test (default: nothing)

    Every test uses a store of its own. A subclass may prepare resources in an autouse fixture
    method (``@pytest.fixture(autouse=True) def _db(self, tmp_path): self.dir = tmp_path``) and
    read them in ``storage_url``. Beyond the written contract of ``storage/base.py`` the suite
    pins down what the engine relies on: a refused commit writes nothing; values that cannot be
    stored as JSON are refused; ``read_events`` of an unknown run raises ``NotFoundError``;
    "newest first" means by creation (ties: the later created first), not by last update.
    """

    # -- routines -----------------------------------------------------------------------------

    def test_routine_put_get(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            routine = data.stored_routine("r", "1")
            await store.put_routine(routine)
            assert await store.get_routine("r", "1") == routine
            pathless = data.stored_routine("p", "1", path=None)
            await store.put_routine(pathless)
            assert await store.get_routine("p", "1") == pathless

        self.check(body)

    def test_routine_missing_raises_not_found(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            await store.put_routine(data.stored_routine("r", "1"))
            for rid, version in (("r", "2"), ("nope", "1")):
                with pytest.raises(NotFoundError):
                    await store.get_routine(rid, version)

        self.check(body)

    def test_routine_list_oldest_first_and_filtered(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            assert await store.list_routines() == []
            rows = [
                data.stored_routine("a", "1", "a1"),
                data.stored_routine("b", "1", "b1"),
                data.stored_routine("a", "2", "a2"),
            ]
            for row in rows:
                await store.put_routine(row)
            assert await store.list_routines() == [r.routine for r in rows]
            assert await store.list_routines("a") == [rows[0].routine, rows[2].routine]
            assert await store.list_routines("missing") == []

        self.check(body)

    def test_routine_same_version_same_content_is_a_no_op(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            routine = data.stored_routine("r", "1")
            await store.put_routine(routine)
            await store.put_routine(routine)
            assert await store.list_routines("r") == [routine.routine]

        self.check(body)

    def test_routine_same_version_other_content_raises(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            original = data.stored_routine("r", "1", "one")
            await store.put_routine(original)
            with pytest.raises(StorageError):
                await store.put_routine(data.stored_routine("r", "1", "two"))
            assert await store.get_routine("r", "1") == original

        self.check(body)

    # -- commits and the event log --------------------------------------------------------------

    def test_first_commit_creates_the_run(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            record = data.run("run-1")
            first = data.created("run-1")
            await store.commit(Commit("run-1", (first,), record))
            assert await store.get_run("run-1") == record
            assert await store.read_events("run-1") == [first]

        self.check(body)

    def test_commit_to_unknown_run_without_record_raises(self) -> None:
        """Events for a run that was never created (no run record in the commit) are refused."""

        async def body(store: StorageBackend, _: Stores) -> None:
            with pytest.raises(StorageError):
                await store.commit(Commit("ghost", (data.created("ghost"),)))
            with pytest.raises(NotFoundError):
                await store.get_run("ghost")

        self.check(body)

    def test_commit_appends_gapless_sequence(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            await self.new_run(store, "run-1")
            await store.commit(Commit("run-1", (data.filler("run-1", 2),)))
            await store.commit(Commit("run-1", tuple(data.filler("run-1", s) for s in (3, 4, 5))))
            events = await store.read_events("run-1")
            assert [e.seq for e in events] == [1, 2, 3, 4, 5]
            assert events[1:] == [data.filler("run-1", s) for s in (2, 3, 4, 5)]

        self.check(body)

    def test_repeated_seq_raises_duplicate_event_error(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            await self.new_run(store, "run-1", events=3)
            before = await store.read_events("run-1")
            for seq in (1, 3):
                with pytest.raises(DuplicateEventError):
                    await store.commit(Commit("run-1", (data.filler("run-1", seq),)))
            with pytest.raises(DuplicateEventError):
                await store.commit(Commit("run-1", (data.filler("run-1", 3), data.filler("run-1", 4))))
            assert await store.read_events("run-1") == before

        self.check(body)

    def test_out_of_order_seq_raises(self) -> None:
        """A gap, a disorder inside one commit, or an event of another run is refused (with a
        StorageError that is not a DuplicateEventError), and nothing is appended."""

        async def body(store: StorageBackend, _: Stores) -> None:
            await self.new_run(store, "run-1", events=2)
            before = await store.read_events("run-1")
            bad = [
                (data.filler("run-1", 4),),
                (data.filler("run-1", 3), data.filler("run-1", 5)),
                (data.filler("run-1", 4), data.filler("run-1", 3)),
                (data.filler("other", 3),),
            ]
            for events in bad:
                with pytest.raises(StorageError) as info:
                    await store.commit(Commit("run-1", events))
                assert not isinstance(info.value, DuplicateEventError), f"{[e.seq for e in events]}: {info.value!r}"
                assert await store.read_events("run-1") == before

        self.check(body)

    def test_failed_commit_changes_nothing(self) -> None:
        """A refused commit writes none of its parts: no events, no run record, no waits."""

        async def body(store: StorageBackend, _: Stores) -> None:
            await self.new_run(store, "run-1")
            record = await store.get_run("run-1")
            changed = data.run("run-1", status=RunStatus.WAITING, last_seq=3)
            with pytest.raises(StorageError):
                await store.commit(
                    Commit("run-1", (data.filler("run-1", 3),), changed, (data.wait("w1", "run-1"),), ())
                )
            assert await store.get_run("run-1") == record
            assert [e.seq for e in await store.read_events("run-1")] == [1]
            with pytest.raises(NotFoundError):
                await store.get_wait("w1")

        self.check(body)

    def test_unstorable_commit_changes_nothing(self) -> None:
        """A commit holding a value that cannot be stored as JSON is refused whole: the events
        before the bad one are not appended either."""

        async def body(store: StorageBackend, _: Stores) -> None:
            await self.new_run(store, "run-1")
            good = data.filler("run-1", 2)
            bad = Event("run-1", 3, data.T0, VariablesSet({"x": object()}))
            with pytest.raises(Exception):  # noqa: B017 - backends report this with their own error types
                await store.commit(Commit("run-1", (good, bad)))
            assert [e.seq for e in await store.read_events("run-1")] == [1]
            await store.commit(Commit("run-1", (good,)))  # the log is still usable

        self.check(body)

    def test_unstorable_run_record_changes_nothing(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            await self.new_run(store, "run-1")
            record = await store.get_run("run-1")
            bad = data.run("run-1", last_seq=2, labels={"x": object()})  # type: ignore[dict-item]
            with pytest.raises(Exception):  # noqa: B017 - backends report this with their own error types
                await store.commit(Commit("run-1", (data.filler("run-1", 2),), bad))
            assert await store.get_run("run-1") == record
            assert [e.seq for e in await store.read_events("run-1")] == [1]

        self.check(body)

    def test_commit_replaces_or_keeps_run_record(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            await self.new_run(store, "run-1")
            await store.commit(Commit("run-1", (data.filler("run-1", 2),)))
            assert (await store.get_run("run-1")).last_seq == 1, "a commit without a run record changed the record"
            done = data.run("run-1", status=RunStatus.COMPLETED, last_seq=2)
            await store.commit(Commit("run-1", run=done))
            assert await store.get_run("run-1") == done
            assert [e.seq for e in await store.read_events("run-1")] == [1, 2]

        self.check(body)

    def test_run_record_round_trips_every_field(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            record = data.full_run("full")
            await store.commit(Commit("full", (data.created("full"),), record))
            assert await store.get_run("full") == record

        self.check(body)

    def test_missing_run_raises_not_found(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            await self.new_run(store, "run-1")
            with pytest.raises(NotFoundError):
                await store.get_run("nope")
            with pytest.raises(NotFoundError):
                await store.read_events("nope")

        self.check(body)

    def test_every_event_type_round_trips(self) -> None:
        """Every kernel event payload, and an event whose type no installed code knows, reads back
        exactly as written."""

        async def body(store: StorageBackend, _: Stores) -> None:
            payloads = data.every_payload()
            events = tuple(Event("run-1", i, data.T0 + i / 8, p) for i, p in enumerate(payloads, start=1))
            await store.commit(Commit("run-1", events[:1], data.run("run-1")))
            await store.commit(Commit("run-1", events[1:]))
            assert await store.read_events("run-1") == list(events)

        self.check(body)

    def test_read_events_after_and_limit(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            await self.new_run(store, "run-1", events=6)
            await self.new_run(store, "run-2", events=2)

            async def seqs(**kw: Any) -> list[int]:
                return [e.seq for e in await store.read_events("run-1", **kw)]

            assert await seqs() == [1, 2, 3, 4, 5, 6]
            assert await seqs(after=2) == [3, 4, 5, 6]
            assert await seqs(limit=2) == [1, 2]
            assert await seqs(after=3, limit=2) == [4, 5]
            assert await seqs(after=5, limit=10) == [6]
            assert await seqs(after=6) == []
            assert await seqs(after=0, limit=0) == []
            assert {e.run_id for e in await store.read_events("run-2")} == {"run-2"}

        self.check(body)

    # -- listing runs -------------------------------------------------------------------------

    def test_list_runs_newest_first(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            assert await store.list_runs() == []
            for i in range(4):
                await self.new_run(store, f"run-{i}", at=data.T0 + i)
            assert [r.id for r in await store.list_runs()] == ["run-3", "run-2", "run-1", "run-0"]
            # Replacing an older run's record (its status changed) does not make it newer.
            await store.commit(Commit("run-1", run=data.run("run-1", status=RunStatus.COMPLETED, at=data.T0 + 1)))
            assert [r.id for r in await store.list_runs()] == ["run-3", "run-2", "run-1", "run-0"]

        self.check(body)

    def test_list_runs_created_at_the_same_time(self) -> None:
        """Runs created at the same clock time (a fake clock) list in reverse order of creation."""

        async def body(store: StorageBackend, _: Stores) -> None:
            for i in range(4):
                await self.new_run(store, f"run-{i}")
            assert [r.id for r in await store.list_runs()] == ["run-3", "run-2", "run-1", "run-0"]

        self.check(body)

    def test_list_runs_filters(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            S = RunStatus
            rows = [
                ("a", S.RUNNING, "r1", None, {"team": "x"}),
                ("b", S.WAITING, "r1", "a", {"team": "x", "swarm": "s"}),
                ("c", S.COMPLETED, "r2", "a", {"team": "y"}),
                ("d", S.FAILED, "r2", None, {}),
                ("e", S.PAUSED, "r1", "b", {"team": "x", "swarm": "t"}),
            ]
            for i, (rid, status, routine, parent, labels) in enumerate(rows):
                await self.new_run(
                    store, rid, status=status, routine_id=routine, parent=parent, labels=labels, at=data.T0 + i
                )

            async def ids(**kw: Any) -> list[str]:
                return [r.id for r in await store.list_runs(**kw)]

            assert await ids(status=[S.RUNNING, S.WAITING, S.PAUSED]) == ["e", "b", "a"]
            assert await ids(status=[S.COMPLETED]) == ["c"]
            assert await ids(status=[S.CANCELLED]) == []
            assert await ids(routine_id="r2") == ["d", "c"]
            assert await ids(parent_run_id="a") == ["c", "b"]
            assert await ids(labels={"team": "x"}) == ["e", "b", "a"]
            assert await ids(labels={"team": "x", "swarm": "s"}) == ["b"]
            assert await ids(labels={"swarm": "nope"}) == []
            assert await ids(routine_id="r1", status=[S.WAITING, S.PAUSED], labels={"team": "x"}) == ["e", "b"]
            assert await ids(routine_id="r1", parent_run_id="a") == ["b"]

        self.check(body)

    def test_list_runs_limit(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            for i in range(102):
                await self.new_run(store, f"run-{i:03}", at=data.T0 + i)
            assert [r.id for r in await store.list_runs(limit=2)] == ["run-101", "run-100"]
            listed = await store.list_runs()
            assert len(listed) == 100, "list_runs lists at most 100 runs by default"
            assert listed[-1].id == "run-002"
            assert len(await store.list_runs(limit=1000)) == 102
            assert [r.id for r in await store.list_runs(status=[RunStatus.RUNNING], limit=1)] == ["run-101"]

        self.check(body)

    def test_list_runs_limit_zero(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            await self.new_run(store, "run-1")
            assert await store.list_runs(limit=0) == []

        self.check(body)

    # -- snapshots ----------------------------------------------------------------------------

    def test_snapshots(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            await self.new_run(store, "run-1", events=5)
            await self.new_run(store, "run-2")
            assert await store.load_snapshot("run-1") is None
            state: dict[str, Any] = {
                "variables": {"a": [1, 2, {"b": None}]},
                "tokens": {},
                "seq": 3,
                "ok": True,
                "x": 1.5,
            }
            expected = copy.deepcopy(state)
            await store.save_snapshot("run-1", 3, state)
            state["variables"]["a"].append("changed after saving")
            seq, loaded = await store.load_snapshot("run-1")  # type: ignore[misc]
            assert (seq, dict(loaded)) == (3, expected)
            await store.save_snapshot("run-1", 5, {"seq": 5})
            seq, loaded = await store.load_snapshot("run-1")  # type: ignore[misc]
            assert (seq, dict(loaded)) == (5, {"seq": 5}), "the latest snapshot wins"
            assert await store.load_snapshot("run-2") is None, "snapshots belong to one run"

        self.check(body)

    # -- waits --------------------------------------------------------------------------------

    def test_waits_put_get_drop(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            await self.new_run(store, "run-1")
            w1, w2 = data.wait("w1", "run-1", name="Review"), data.wait("w2", "run-1", WaitKind.CHOICE, name="Pick")
            await store.commit(Commit("run-1", (data.filler("run-1", 2),), put_waits=(w1, w2)))
            assert await store.get_wait("w1") == w1
            assert await store.get_wait("w2") == w2
            await store.commit(Commit("run-1", (data.filler("run-1", 3),), drop_waits=("w1",)))
            with pytest.raises(NotFoundError):
                await store.get_wait("w1")
            assert await store.find_waits() == [w2]
            with pytest.raises(NotFoundError):
                await store.get_wait("never")

        self.check(body)

    def test_dropping_an_unknown_wait_is_not_an_error(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            await self.new_run(store, "run-1")
            await store.commit(Commit("run-1", (data.filler("run-1", 2),), drop_waits=("never-registered",)))
            assert [e.seq for e in await store.read_events("run-1")] == [1, 2]

        self.check(body)

    def test_find_waits_filters(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            K = WaitKind
            await self.new_run(store, "run-1")
            await self.new_run(store, "run-2")
            w = [
                data.wait("w1", "run-1", K.HUMAN, name="Review", at=data.T0 + 1),
                data.wait("w2", "run-1", K.MESSAGE, name="paid", correlation="o-1", at=data.T0 + 2),
                data.wait("w3", "run-2", K.MESSAGE, name="paid", correlation="o-2", at=data.T0 + 3),
                data.wait("w4", "run-2", K.SIGNAL, name="go", at=data.T0 + 4),
                data.wait("w5", "run-2", K.CHOICE, name="Pick", at=data.T0 + 5),
                data.wait("w6", "run-1", K.TIMER, due=data.T0 + 60, at=data.T0 + 6),
            ]
            await store.commit(Commit("run-1", (data.filler("run-1", 2),), put_waits=(w[0], w[1])))
            await store.commit(Commit("run-2", (data.filler("run-2", 2),), put_waits=(w[2], w[3], w[4])))
            await store.commit(Commit("run-1", (data.filler("run-1", 3),), put_waits=(w[5],)))

            async def ids(**kw: Any) -> list[str]:
                return [x.id for x in await store.find_waits(**kw)]

            assert await ids() == ["w1", "w2", "w3", "w4", "w5", "w6"], "oldest first"
            assert await ids(kinds=[K.HUMAN, K.CHOICE]) == ["w1", "w5"]
            assert await ids(kinds=[K.MESSAGE], name="paid") == ["w2", "w3"]
            assert await ids(kinds=[K.MESSAGE], name="paid", correlation="o-2") == ["w3"]
            assert await ids(name="paid", correlation="nope") == []
            assert await ids(run_id="run-2") == ["w3", "w4", "w5"]
            assert await ids(run_id="run-2", kinds=[K.SIGNAL]) == ["w4"]
            assert await ids(limit=2) == ["w1", "w2"]
            assert await ids(kinds=[K.MESSAGE], limit=1) == ["w2"]
            assert await store.find_waits(run_id="run-1", kinds=[K.HUMAN]) == [w[0]]

        self.check(body)

    def test_find_waits_due_before_sorted_by_due(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            await self.new_run(store, "run-1")
            timers = [
                data.wait("late", "run-1", WaitKind.TIMER, due=data.T0 + 300, at=data.T0 + 1),
                data.wait("soon", "run-1", WaitKind.TIMER, due=data.T0 + 10, at=data.T0 + 2),
                data.wait("mid", "run-1", WaitKind.TIMER, due=data.T0 + 100, at=data.T0 + 3),
                data.wait("person", "run-1", WaitKind.HUMAN, at=data.T0 + 4),
            ]
            await store.commit(Commit("run-1", (data.filler("run-1", 2),), put_waits=tuple(timers)))

            async def ids(**kw: Any) -> list[str]:
                return [x.id for x in await store.find_waits(**kw)]

            assert await ids(due_before=data.T0 + 1000) == ["soon", "mid", "late"]
            assert await ids(due_before=data.T0 + 100) == ["soon", "mid"], "due_before includes a wait due exactly then"
            assert await ids(due_before=data.T0 + 5) == []
            assert await ids(due_before=data.T0 + 1000, limit=1) == ["soon"]
            assert await ids(kinds=[WaitKind.TIMER], due_before=data.T0 + 200) == ["soon", "mid"]

        self.check(body)

    # -- documents ----------------------------------------------------------------------------

    def test_docs_crud(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            assert await store.list_docs("teams") == []
            await store.put_doc("teams", "ops", {"name": "Ops", "members": ["a", "b"], "budget": 10.5})
            await store.put_doc("teams", "dev", {"name": "Dev"})
            await store.put_doc("swarms", "ops", {"objective": "x"})
            assert dict(await store.get_doc("teams", "ops")) == {"name": "Ops", "members": ["a", "b"], "budget": 10.5}
            assert {k: dict(v) for k, v in await store.list_docs("teams")} == {
                "ops": {"name": "Ops", "members": ["a", "b"], "budget": 10.5},
                "dev": {"name": "Dev"},
            }
            await store.put_doc("teams", "ops", {"name": "Operations"})
            assert dict(await store.get_doc("teams", "ops")) == {"name": "Operations"}, "put_doc replaces"
            await store.delete_doc("teams", "ops")
            with pytest.raises(NotFoundError):
                await store.get_doc("teams", "ops")
            assert [k for k, _ in await store.list_docs("teams")] == ["dev"]
            assert dict(await store.get_doc("swarms", "ops")) == {"objective": "x"}, "collections are separate"

        self.check(body)

    def test_docs_missing(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            await store.put_doc("teams", "ops", {"name": "Ops"})
            for collection, doc_id in (("teams", "nope"), ("nope", "ops")):
                with pytest.raises(NotFoundError):
                    await store.get_doc(collection, doc_id)
            await store.delete_doc("teams", "nope")
            await store.delete_doc("nope", "nope")
            assert [k for k, _ in await store.list_docs("teams")] == ["ops"]

        self.check(body)

    def test_docs_are_copies(self) -> None:
        """Changing a dict after storing it, or one read back, does not change the stored document."""

        async def body(store: StorageBackend, _: Stores) -> None:
            doc: dict[str, Any] = {"items": [1]}
            await store.put_doc("c", "d", doc)
            doc["items"].append(2)
            read = await store.get_doc("c", "d")
            assert dict(read) == {"items": [1]}
            read["items"].append(3)
            assert dict(await store.get_doc("c", "d")) == {"items": [1]}

        self.check(body)

    # -- instances and concurrency ------------------------------------------------------------

    def test_reopened_store_sees_everything(self) -> None:
        """A second backend instance on the same store (another process, after a restart) reads
        everything the first one wrote."""

        async def body(store: StorageBackend, stores: Stores) -> None:
            routine = data.stored_routine("r", "1")
            await store.put_routine(routine)
            await self.new_run(store, "run-1", events=3)
            waiting = data.wait("w1", "run-1")
            await store.commit(Commit("run-1", (data.filler("run-1", 4),), put_waits=(waiting,)))
            await store.save_snapshot("run-1", 4, {"seq": 4})
            await store.put_doc("c", "d", {"x": 1})
            other = await stores.new()
            assert await other.get_routine("r", "1") == routine
            assert await other.get_run("run-1") == await store.get_run("run-1")
            assert await other.read_events("run-1") == await store.read_events("run-1")
            assert await other.find_waits() == [waiting]
            assert await other.load_snapshot("run-1") == (4, {"seq": 4})
            assert dict(await other.get_doc("c", "d")) == {"x": 1}
            with pytest.raises(DuplicateEventError):
                await other.commit(Commit("run-1", (data.filler("run-1", 4),)))

        self.check(body)

    def test_concurrent_commits(self) -> None:
        """Commits to many runs at once all land, each run's log intact."""

        async def body(store: StorageBackend, _: Stores) -> None:
            async def one(i: int) -> None:
                rid = f"run-{i}"
                await self.new_run(store, rid)
                for seq in range(2, 6):
                    await store.commit(Commit(rid, (data.filler(rid, seq),)))

            async with anyio.create_task_group() as tg:
                for i in range(20):
                    tg.start_soon(one, i)
            for i in range(20):
                assert [e.seq for e in await store.read_events(f"run-{i}")] == [1, 2, 3, 4, 5]
            assert len(await store.list_runs(limit=1000)) == 20

        self.check(body)
