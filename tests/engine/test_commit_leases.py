"""Leases written with commits (``StorageBackend.commit_leases``): on such a store the commit that
creates a run takes its lease and the commit that finishes it, or stores how it rests, drops it, with
no ``acquire_lease`` / ``release_lease`` calls of their own; on a store without it the engine makes
those calls around its commits, as before."""

from __future__ import annotations

import time
import uuid
from typing import Any

import anyio
import pytest
from _util import flow

from vrooli_core import Engine
from vrooli_core.errors import NotFoundError, RunError
from vrooli_core.model import RunStatus
from vrooli_core.serialization import make_converter
from vrooli_core.storage.base import Commit
from vrooli_core.storage.memory import MemoryStorage

pytestmark = pytest.mark.anyio

STEPS = """
[steps.a]
next = "b"
[steps.b]
next = "c"
[steps.c]
"""

APPROVE = """
[steps.ask]
kind = "human"
next = "done"
[steps.done]
"""


class SpyStorage(MemoryStorage):
    """A verifying in-memory store that notes every commit (stored or refused) and every lease call,
    in order."""

    def __init__(self, shared: str | None = None) -> None:
        super().__init__(converter=make_converter(), shared=shared, verify=True)
        self.calls: list[tuple[str, Any]] = []

    async def commit(self, commit: Commit) -> None:
        try:
            await super().commit(commit)
        except BaseException:
            self.calls.append(("refused", commit))
            raise
        self.calls.append(("commit", commit))

    async def acquire_lease(self, run_id: str, owner: str, *, now: float, until: float) -> str | None:
        self.calls.append(("acquire_lease", (run_id, owner)))
        return await super().acquire_lease(run_id, owner, now=now, until=until)

    async def release_lease(self, run_id: str, owner: str) -> None:
        self.calls.append(("release_lease", (run_id, owner)))
        await super().release_lease(run_id, owner)

    def named(self, name: str, run_id: str | None = None) -> list[Any]:
        return [
            arg
            for what, arg in self.calls
            if what == name and (run_id is None or (arg.run_id if isinstance(arg, Commit) else arg[0]) == run_id)
        ]

    def positions(self, name: str, run_id: str) -> list[int]:
        return [
            i
            for i, (what, arg) in enumerate(self.calls)
            if what == name and (arg.run_id if isinstance(arg, Commit) else arg[0]) == run_id
        ]

    def holder(self, run_id: str) -> str | None:
        held = self._d.leases.get(run_id)
        return None if held is None else held[0]


class SeparateLeaseStorage(SpyStorage):
    """The same store, but its commits take and drop no leases: the engine calls for them."""

    commit_leases = False

    async def commit(self, commit: Commit) -> None:
        assert commit.lease is None and commit.release is None, (
            "the engine set a lease on a store without commit_leases"
        )
        await super().commit(commit)


# -- a store whose commits carry leases ---------------------------------------------------------


async def test_a_run_to_completion_takes_and_drops_its_lease_with_its_commits(host):
    store = SpyStorage()
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(STEPS))
        assert run.status is RunStatus.COMPLETED
        assert store.named("acquire_lease") == [] and store.named("release_lease") == []
        commits = store.named("commit", run.id)
        # The creation commit took the lease for this engine; the finishing one dropped it.
        assert commits[0].events[0].seq == 1 and commits[0].run is not None
        assert commits[0].lease is not None and commits[0].lease.owner == engine.owner
        assert commits[0].lease.until > commits[0].lease.now
        assert [c.release for c in commits if c.release is not None] == [engine.owner]
        assert commits[-1].release == engine.owner and commits[-1].run.status is RunStatus.COMPLETED
        assert all(c.lease is None for c in commits[1:])
        assert store.holder(run.id) is None
        assert run.id not in engine._held
        # Nobody holds it: another engine's owner gets the lease at once.
        now = time.time()
        assert await store.acquire_lease(run.id, "another", now=now, until=now + 30) is None
    assert [e.type for e in await store.read_events(run.id)][-1] == "run.completed"


async def test_a_run_that_rests_on_a_task_holds_no_lease(host):
    store = SpyStorage()
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(APPROVE))
        assert run.status is RunStatus.WAITING
        assert store.named("acquire_lease") == [] and store.named("release_lease") == []
        commits = store.named("commit", run.id)
        assert commits[0].lease is not None and commits[0].lease.owner == engine.owner
        # The commit that stored how it rests dropped the lease.
        resting = [c for c in commits if c.release is not None]
        assert len(resting) == 1 and resting[0] is commits[-1]
        assert resting[0].release == engine.owner and (await store.get_run(run.id)).status is RunStatus.WAITING
        assert store.holder(run.id) is None and run.id not in engine._held

        [task] = await engine.tasks(run_id=run.id)
        done = await engine.complete_task(task.id, {})
        assert done.status is RunStatus.COMPLETED
        assert (await store.get_run(run.id)).status is RunStatus.COMPLETED
        # Answering leases the run again; the commit that finishes it lets the lease go.
        assert store.named("release_lease") == []
        finishing = store.named("commit", run.id)[-1]
        assert finishing.run is not None and finishing.run.status is RunStatus.COMPLETED
        assert finishing.release == engine.owner
        assert store.holder(run.id) is None and run.id not in engine._held


async def test_a_resting_run_is_answered_by_another_engine_at_once(host):
    """The lease dropped by the resting commit is really gone: a second engine on the same store
    answers the task without waiting for the first one's lease to run out."""
    name = f"commit-leases-{uuid.uuid4().hex}"
    try:
        async with Engine.open(SpyStorage(name), host=host, lease=60) as first:
            run = await first.run(flow(APPROVE))
            [task] = await first.tasks(run_id=run.id)
            async with Engine.open(SpyStorage(name), host=host, lease=60) as second:
                started = time.monotonic()
                with anyio.fail_after(10):  # not two lease lengths (120 s) of waiting for it
                    done = await second.complete_task(task.id, {})
                assert done.status is RunStatus.COMPLETED
                assert time.monotonic() - started < 5  # it did not wait for a 60 s lease to end
                assert second.storage.holder(run.id) is None
            assert (await first.get_run(run.id)).status is RunStatus.COMPLETED
    finally:
        MemoryStorage.forget(name)


# -- a store whose commits carry no leases ------------------------------------------------------


async def test_without_commit_leases_the_engine_calls_for_the_lease_around_its_commits(host):
    store = SeparateLeaseStorage()
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(STEPS))
        assert run.status is RunStatus.COMPLETED
        acquired = store.positions("acquire_lease", run.id)
        released = store.positions("release_lease", run.id)
        commits = store.positions("commit", run.id)
        assert len(acquired) == 1 and acquired[0] < commits[0]  # leased before anything is recorded
        assert store.named("acquire_lease", run.id) == [(run.id, engine.owner)]
        assert len(released) == 1 and released[0] > commits[-1]  # let go once the run rests
        assert store.named("release_lease", run.id) == [(run.id, engine.owner)]
        assert all(c.lease is None and c.release is None for c in store.named("commit"))
        assert store.holder(run.id) is None and run.id not in engine._held


async def test_without_commit_leases_a_resting_run_is_let_go_by_a_call(host):
    store = SeparateLeaseStorage()
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(APPROVE))
        assert run.status is RunStatus.WAITING
        commits = store.positions("commit", run.id)
        [acquired] = store.positions("acquire_lease", run.id)
        [released] = store.positions("release_lease", run.id)
        assert acquired < commits[0] and released > commits[-1]
        assert (await store.get_run(run.id)).status is RunStatus.WAITING  # stored before the lease went
        assert store.holder(run.id) is None and run.id not in engine._held
        [task] = await engine.tasks(run_id=run.id)
        assert (await engine.complete_task(task.id, {})).status is RunStatus.COMPLETED
        assert store.holder(run.id) is None
        assert all(c.lease is None and c.release is None for c in store.named("commit"))


# -- a run id another engine leases -------------------------------------------------------------


@pytest.mark.parametrize("backend", [SpyStorage, SeparateLeaseStorage], ids=["commit_leases", "separate_leases"])
@pytest.mark.parametrize("how", ["run", "start"])
async def test_a_run_id_another_engine_leases_is_refused_and_nothing_is_recorded(host, backend, how):
    store = backend()
    now = time.time()
    assert await store.acquire_lease("taken", "other-engine", now=now, until=now + 600) is None
    async with Engine.open(store, host=host) as engine:
        with pytest.raises(RunError) as refused:
            await getattr(engine, how)(flow(APPROVE), run_id="taken")
        assert refused.value.code == "leased"
        assert refused.value.run_id == "taken" and "other-engine" in str(refused.value)
        with pytest.raises(NotFoundError):
            await store.get_run("taken")
        with pytest.raises(NotFoundError):
            await store.read_events("taken")
        with pytest.raises(NotFoundError):
            await engine.get_run("taken")
        assert await store.find_waits(run_id="taken") == []
        assert await engine.tasks() == []
        assert "taken" not in engine._held
        # Nothing was stored for it, and the other engine's lease is untouched.
        assert store.named("commit", "taken") == []
        refused_commits = store.named("refused", "taken")
        if store.commit_leases:  # the creation commit carried the lease, and was refused
            assert len(refused_commits) == 1 and refused_commits[0].lease.owner == engine.owner
        else:  # refused before anything was sent to the store
            assert refused_commits == []
            assert store.named("acquire_lease", "taken") == [("taken", "other-engine"), ("taken", engine.owner)]
        assert store._d.events.get("taken") is None and "taken" not in store._d.runs
        assert store.holder("taken") == "other-engine"
        # Another run id is not affected.
        other = await engine.run(flow(APPROVE))
        assert other.status is RunStatus.WAITING
    assert store.holder("taken") == "other-engine"  # closing the engine does not drop it either
