"""Storage conformance, part three: leases, which let several engines (worker processes) share a store
without two of them moving the same run at once."""

from __future__ import annotations

import anyio

from vrooli_core.model import RunStatus, WaitKind
from vrooli_core.storage.base import Commit, StorageBackend
from vrooli_core.testing.conformance import _storage_data as data
from vrooli_core.testing.conformance._storage_base import StorageSuiteBase, Stores

__all__ = ["StorageLeaseTests"]

NOW = data.T0
LEASE = 30.0


class StorageLeaseTests(StorageSuiteBase, suite=True):
    """``acquire_lease``, ``release_lease`` and ``claim_runs`` (part of ``StorageConformance``)."""

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
