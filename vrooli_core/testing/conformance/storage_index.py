"""Storage conformance, part two: listing runs, snapshots, waits, documents, several instances."""

from __future__ import annotations

import copy
from typing import Any

import anyio
import pytest

from vrooli_core.errors import DuplicateEventError, NotFoundError
from vrooli_core.model import RunStatus, WaitKind
from vrooli_core.storage.base import Commit, StorageBackend
from vrooli_core.testing.conformance import _storage_data as data
from vrooli_core.testing.conformance._storage_base import StorageSuiteBase, Stores

__all__ = ["StorageIndexTests"]


class StorageIndexTests(StorageSuiteBase, suite=True):
    """Run listing, snapshots, the wait index, documents, instances (part of ``StorageConformance``)."""

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
