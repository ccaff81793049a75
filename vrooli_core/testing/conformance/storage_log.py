"""Storage conformance, part one: routines, commits and the event log."""

from __future__ import annotations

from typing import Any

import pytest

from vrooli_core.errors import DuplicateEventError, NotFoundError, StorageError
from vrooli_core.model import Event, RunStatus
from vrooli_core.model.events import VariablesSet
from vrooli_core.storage.base import Commit, StorageBackend
from vrooli_core.testing.conformance import _storage_data as data
from vrooli_core.testing.conformance._storage_base import StorageSuiteBase, Stores

__all__ = ["StorageLogTests"]


class StorageLogTests(StorageSuiteBase, suite=True):
    """Routines, commits and the event log (part of ``StorageConformance``)."""

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
