"""Storage conformance, part three: leases, which let several engines (worker processes) share a store
without two of them moving the same run at once."""

from __future__ import annotations

import anyio
import pytest

from vrooli_core.errors import DuplicateEventError, LeaseHeldError, NotFoundError
from vrooli_core.model import RunStatus, WaitKind
from vrooli_core.storage.base import Commit, LeaseTerms, StorageBackend
from vrooli_core.testing.conformance import _storage_data as data
from vrooli_core.testing.conformance._storage_base import StorageSuiteBase, Stores

__all__ = ["StorageLeaseTests"]

NOW = data.T0
LEASE = 30.0


class StorageLeaseTests(StorageSuiteBase, suite=True):
    """``acquire_lease``, ``release_lease`` and ``claim_runs``, and, on a backend whose
    ``commit_leases`` is true, the leases commits take and drop (part of ``StorageConformance``)."""

    def test_a_lease_has_one_holder_until_it_ends(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            assert await store.acquire_lease("r1", "a", now=NOW, until=NOW + LEASE) is None
            assert await store.acquire_lease("r1", "b", now=NOW + 1, until=NOW + 1 + LEASE) == "a"
            # The holder extends it; another owner gets it only once it has ended.
            assert await store.acquire_lease("r1", "a", now=NOW + 20, until=NOW + 20 + LEASE) is None
            assert await store.acquire_lease("r1", "b", now=NOW + LEASE + 1, until=NOW + 2 * LEASE) == "a"
            assert await store.acquire_lease("r1", "b", now=NOW + 20 + LEASE, until=NOW + 60 + LEASE) is None
            assert await store.acquire_lease("r1", "a", now=NOW + 21 + LEASE, until=NOW + 90) == "b"
            # Leases are per run; a run that does not exist yet can be leased (before it is created).
            assert await store.acquire_lease("not-yet", "a", now=NOW, until=NOW + LEASE) is None

        self.check(body)

    def test_release_frees_only_the_holders_lease(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            assert await store.acquire_lease("r1", "a", now=NOW, until=NOW + LEASE) is None
            await store.release_lease("r1", "b")  # not the holder: nothing happens
            assert await store.acquire_lease("r1", "b", now=NOW, until=NOW + LEASE) == "a"
            await store.release_lease("r1", "a")
            assert await store.acquire_lease("r1", "b", now=NOW, until=NOW + LEASE) is None
            await store.release_lease("never-leased", "a")

        self.check(body)

    def test_claim_runs_takes_running_runs_and_due_timers_nobody_leases(self) -> None:
        async def body(store: StorageBackend, _: Stores) -> None:
            S = RunStatus
            for i, (rid, status) in enumerate(
                [
                    ("run-a", S.RUNNING),
                    ("wait-due", S.WAITING),
                    ("wait-later", S.WAITING),
                    ("human", S.WAITING),
                    ("done", S.COMPLETED),
                    ("paused", S.PAUSED),
                    ("run-b", S.RUNNING),
                    ("leased", S.RUNNING),
                ]
            ):
                await self.new_run(store, rid, status=status, at=data.T0 + i)
            timers = (("w1", "wait-due", NOW - 5), ("w2", "wait-later", NOW + 60), ("w3", "paused", NOW - 5))
            for wid, rid, due in timers:
                await store.commit(Commit(rid, put_waits=(data.wait(wid, rid, WaitKind.TIMER, due=due),)))
            await store.commit(Commit("human", put_waits=(data.wait("w4", "human"),)))
            assert await store.acquire_lease("leased", "other", now=NOW, until=NOW + LEASE) is None

            first = await store.claim_runs("me", now=NOW, until=NOW + LEASE, due_before=NOW, limit=2)
            assert first == ["run-a", "wait-due"]  # oldest first, up to the limit
            rest = await store.claim_runs("me", now=NOW, until=NOW + LEASE, due_before=NOW, limit=10)
            assert rest == ["run-b"]
            assert await store.claim_runs("you", now=NOW, until=NOW + LEASE, due_before=NOW, limit=10) == []
            # Claimed runs are leased: nobody else acquires them until the lease ends.
            assert await store.acquire_lease("run-a", "you", now=NOW, until=NOW + LEASE) == "me"
            # A later clock makes the other timer due; ended leases make their runs claimable again.
            later = NOW + LEASE + 1
            again = await store.claim_runs("you", now=later, until=later + LEASE, due_before=NOW + 60, limit=10)
            assert again == ["run-a", "wait-due", "wait-later", "run-b", "leased"]
            assert await store.claim_runs("me", now=later, until=later + LEASE, due_before=NOW, limit=0) == []

        self.check(body)

    def test_concurrent_claims_never_share_a_run(self) -> None:
        async def body(store: StorageBackend, stores: Stores) -> None:
            for i in range(40):
                await self.new_run(store, f"run-{i:02}", at=data.T0 + i)
            others = [await stores.new() for _ in range(3)]
            got: dict[str, list[str]] = {}

            async def claim(owner: str, backend: StorageBackend) -> None:
                mine: list[str] = []
                while batch := await backend.claim_runs(owner, now=NOW, until=NOW + LEASE, due_before=NOW, limit=3):
                    mine += batch
                    await anyio.sleep(0)
                got[owner] = mine

            async with anyio.create_task_group() as tg:
                for n, backend in enumerate([store, *others]):
                    tg.start_soon(claim, f"owner-{n}", backend)
            everything = [rid for ids in got.values() for rid in ids]
            assert sorted(everything) == [f"run-{i:02}" for i in range(40)], "a run was claimed twice or not at all"

        self.check(body)

    # -- leases taken and dropped by commits (``commit_leases``) --------------------------------

    def _needs_commit_leases(self) -> None:
        if not self.backend_class.commit_leases:
            pytest.skip(
                f"{self.backend_class.__name__}.commit_leases is False: its commits take and drop no leases"
                " (the engine calls acquire_lease and release_lease instead)"
            )

    def test_a_commit_with_lease_takes_the_runs_lease(self) -> None:
        self._needs_commit_leases()

        async def body(store: StorageBackend, _: Stores) -> None:
            terms = LeaseTerms("a", NOW, NOW + LEASE)
            await store.commit(
                Commit("r1", (data.created("r1"),), data.run("r1"), (data.wait("w1", "r1"),), lease=terms)
            )
            assert await store.acquire_lease("r1", "b", now=NOW + 1, until=NOW + 1 + LEASE) == "a"
            # The commit itself was stored as any other.
            assert [e.seq for e in await store.read_events("r1")] == [1]
            assert (await store.get_run("r1")).id == "r1"
            assert [w.id for w in await store.find_waits(run_id="r1")] == ["w1"]
            # The holder extends its lease with a later commit: it still holds it past the first end.
            later = LeaseTerms("a", NOW + 20, NOW + 20 + LEASE)
            await store.commit(Commit("r1", (data.filler("r1", 2),), lease=later))
            assert await store.acquire_lease("r1", "b", now=NOW + LEASE + 1, until=NOW + 2 * LEASE) == "a"
            assert await store.acquire_lease("r1", "b", now=NOW + 20 + LEASE, until=NOW + 90) is None

        self.check(body)

    def test_a_commit_is_refused_while_another_owner_holds_the_lease(self) -> None:
        self._needs_commit_leases()

        async def body(store: StorageBackend, _: Stores) -> None:
            # A run that exists: the refused commit changes neither its log, its record nor its waits.
            await self.new_run(store, "r1", events=2)
            await store.commit(Commit("r1", put_waits=(data.wait("w1", "r1"), data.wait("w2", "r1"))))
            record = await store.get_run("r1")
            log = await store.read_events("r1")
            waits = await store.find_waits()
            assert await store.acquire_lease("r1", "b", now=NOW, until=NOW + LEASE) is None
            refused = Commit(
                "r1",
                (data.filler("r1", 3),),
                data.run("r1", status=RunStatus.WAITING, labels={"team": "ops"}, last_seq=3),
                (data.wait("w3", "r1"),),
                ("w1",),
                lease=LeaseTerms("a", NOW + 1, NOW + 1 + LEASE),
                release="b",
            )
            with pytest.raises(LeaseHeldError) as held:
                await store.commit(refused)
            assert held.value.run_id == "r1" and held.value.holder == "b"
            assert await store.read_events("r1") == log
            assert await store.get_run("r1") == record
            assert await store.list_runs(labels={"team": "ops"}) == []
            assert await store.find_waits() == waits
            # Nor was the lease taken, or dropped by the refused commit's ``release``.
            assert await store.acquire_lease("r1", "c", now=NOW + 2, until=NOW + 2 + LEASE) == "b"

            # A run that does not exist yet (leased before it is created): it is not created.
            assert await store.acquire_lease("new", "b", now=NOW, until=NOW + LEASE) is None
            creation = Commit(
                "new",
                (data.created("new"),),
                data.run("new"),
                (data.wait("w-new", "new"),),
                lease=LeaseTerms("a", NOW + LEASE - 1, NOW + 2 * LEASE),
            )
            with pytest.raises(LeaseHeldError) as held:
                await store.commit(creation)
            assert held.value.run_id == "new" and held.value.holder == "b"
            with pytest.raises(NotFoundError):
                await store.get_run("new")
            with pytest.raises(NotFoundError):
                await store.read_events("new")
            assert await store.find_waits(run_id="new") == []
            assert await store.find_waits() == waits
            assert [r.id for r in await store.list_runs()] == ["r1"]

        self.check(body)

    def test_a_commit_refused_for_another_reason_takes_no_lease(self) -> None:
        self._needs_commit_leases()

        async def body(store: StorageBackend, _: Stores) -> None:
            await self.new_run(store, "r1", events=2)
            terms = LeaseTerms("a", NOW, NOW + LEASE)
            with pytest.raises(DuplicateEventError):
                await store.commit(Commit("r1", (data.filler("r1", 2),), lease=terms))
            with pytest.raises(NotFoundError):
                await store.commit(Commit("missing", (data.created("missing"),), lease=terms))
            assert await store.acquire_lease("r1", "b", now=NOW, until=NOW + LEASE) is None
            assert await store.acquire_lease("missing", "b", now=NOW, until=NOW + LEASE) is None
            # And a refused commit does not drop the lease it names in ``release``.
            with pytest.raises(DuplicateEventError):
                await store.commit(Commit("r1", (data.filler("r1", 1),), release="b"))
            assert await store.acquire_lease("r1", "c", now=NOW, until=NOW + LEASE) == "b"

        self.check(body)

    def test_a_commit_takes_over_a_lease_that_ended(self) -> None:
        self._needs_commit_leases()

        async def body(store: StorageBackend, _: Stores) -> None:
            await self.new_run(store, "r1")
            assert await store.acquire_lease("r1", "b", now=NOW, until=NOW + LEASE) is None
            # Ended: its end is not after the commit's ``now``.
            await store.commit(
                Commit("r1", (data.filler("r1", 2),), lease=LeaseTerms("a", NOW + LEASE, NOW + 2 * LEASE))
            )
            assert await store.acquire_lease("r1", "b", now=NOW + LEASE + 1, until=NOW + 3 * LEASE) == "a"
            assert [e.seq for e in await store.read_events("r1")] == [1, 2]
            # A creation commit takes over an ended lease on a run leased before it was created.
            assert await store.acquire_lease("new", "b", now=NOW, until=NOW + 5) is None
            terms = LeaseTerms("a", NOW + 6, NOW + 6 + LEASE)
            await store.commit(Commit("new", (data.created("new"),), data.run("new"), lease=terms))
            assert await store.acquire_lease("new", "b", now=NOW + 7, until=NOW + 7 + LEASE) == "a"
            assert [e.seq for e in await store.read_events("new")] == [1]

        self.check(body)

    def test_release_in_a_commit_drops_only_the_named_owners_lease(self) -> None:
        self._needs_commit_leases()

        async def body(store: StorageBackend, _: Stores) -> None:
            await self.new_run(store, "r1")
            assert await store.acquire_lease("r1", "a", now=NOW, until=NOW + LEASE) is None
            # Another owner's name: the lease stays, the commit is stored.
            await store.commit(Commit("r1", (data.filler("r1", 2),), release="b"))
            assert await store.acquire_lease("r1", "b", now=NOW + 1, until=NOW + 1 + LEASE) == "a"
            await store.commit(
                Commit("r1", (data.filler("r1", 3),), data.run("r1", status=RunStatus.WAITING, last_seq=3), release="a")
            )
            assert [e.seq for e in await store.read_events("r1")] == [1, 2, 3]
            assert (await store.get_run("r1")).status is RunStatus.WAITING
            assert await store.acquire_lease("r1", "b", now=NOW + 2, until=NOW + 2 + LEASE) is None
            # Dropping a lease nobody holds, or on a run that was never leased, is no error.
            await self.new_run(store, "r2")
            await store.commit(Commit("r2", (data.filler("r2", 2),), release="a"))
            assert [e.seq for e in await store.read_events("r2")] == [1, 2]
            # Other runs' leases are not touched.
            assert await store.acquire_lease("r1", "c", now=NOW + 3, until=NOW + 3 + LEASE) == "b"

        self.check(body)

    def test_a_commit_with_lease_and_release(self) -> None:
        self._needs_commit_leases()

        async def body(store: StorageBackend, _: Stores) -> None:
            # A run created and finished by one commit: it takes the lease and drops it again.
            terms = LeaseTerms("a", NOW, NOW + LEASE)
            done = data.run("r1", status=RunStatus.COMPLETED)
            await store.commit(Commit("r1", (data.created("r1"),), done, lease=terms, release="a"))
            assert (await store.get_run("r1")).status is RunStatus.COMPLETED
            assert await store.acquire_lease("r1", "b", now=NOW + 1, until=NOW + 1 + LEASE) is None
            # Taken by one owner, another named in ``release``: the commit's lease stays.
            await self.new_run(store, "r2")
            await store.commit(Commit("r2", (data.filler("r2", 2),), lease=terms, release="b"))
            assert await store.acquire_lease("r2", "b", now=NOW + 1, until=NOW + 1 + LEASE) == "a"
            # The holder of the run's lease finishes it with one commit that extends and drops it.
            await store.commit(
                Commit("r2", (data.filler("r2", 3),), lease=LeaseTerms("a", NOW + 2, NOW + 2 + LEASE), release="a")
            )
            assert [e.seq for e in await store.read_events("r2")] == [1, 2, 3]
            assert await store.acquire_lease("r2", "b", now=NOW + 3, until=NOW + 3 + LEASE) is None
            # While another owner holds it, the commit is refused: nothing stored, the lease kept.
            with pytest.raises(LeaseHeldError) as held:
                await store.commit(
                    Commit("r2", (data.filler("r2", 4),), lease=LeaseTerms("a", NOW + 4, NOW + 4 + LEASE), release="a")
                )
            assert held.value.holder == "b"
            assert [e.seq for e in await store.read_events("r2")] == [1, 2, 3]
            assert await store.acquire_lease("r2", "c", now=NOW + 5, until=NOW + 5 + LEASE) == "b"

        self.check(body)
