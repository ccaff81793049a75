"""Leases and workers: several engines (worker processes) on one store never move the same run at once.

An engine leases a run from storage before it records anything for it, keeps the lease while the run
moves (renewing it every third of its length), and lets it go once the run rests. A lease is only
about who works; correctness does not depend on it: every event has a sequence number that storage
accepts once, so an engine that lost its lease (it stalled past the end) finds its next commit
refused and reloads the run instead of forking its history.

``Engine.work`` is the worker loop behind ``vrooli worker``: it claims runs that need an engine and
that nobody leases (runs left RUNNING by an engine that died, runs with a due timer) and moves them.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import anyio

from vrooli_core.errors import LeaseHeldError, NotFoundError, RunError, StorageError
from vrooli_core.model import WaitKind
from vrooli_core.storage.base import LeaseTerms, LoadedRun

if TYPE_CHECKING:
    from vrooli_core.engine.engine import Engine
    from vrooli_core.engine.runtime import RunRuntime

T = TypeVar("T")


def new_owner() -> str:
    """A lease owner name that says where the engine runs: ``host:pid:random``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Leases:
    """The engine's side of the storage leases (mixed into :class:`~vrooli_core.engine.Engine`)."""

    owner: str
    lease_seconds: float
    _held: set[str]
    _idle: set[str]

    async def _hold(self: Engine, run_id: str, *, wait: float | None = None) -> bool:
        """Lease ``run_id`` for this engine; True when it was not held here before (the run may have
        moved elsewhere since: reload it). Waits up to ``wait`` seconds (default: two lease lengths)
        for another engine's lease to end, then raises RunError (code ``leased``)."""
        if run_id in self._held:
            self._idle.discard(run_id)
            return False

        async def acquire(terms: LeaseTerms) -> None:
            holder = await self.storage.acquire_lease(run_id, terms.owner, now=terms.now, until=terms.until)
            if holder is not None:
                raise LeaseHeldError(run_id, holder)

        await self._leased(run_id, wait, acquire)
        return True

    async def _hold_and_load(self: Engine, run_id: str, *, wait: float | None = None) -> LoadedRun:
        """Lease ``run_id`` and read it from storage, in one call to the store (``load_run``);
        waits for another engine's lease as ``_hold`` does."""
        return await self._leased(run_id, wait, lambda terms: self.storage.load_run(run_id, lease=terms))

    async def _leased(self: Engine, run_id: str, wait: float | None, attempt: Callable[[LeaseTerms], Awaitable[T]]) -> T:
        """``attempt(terms)`` until it does not raise ``LeaseHeldError`` (then the run is held
        here), for up to ``wait`` seconds (default: two lease lengths), backing off in between."""
        patience = 2 * self.lease_seconds if wait is None else wait
        deadline = time.time() + patience
        pause = 0.01
        while True:
            now = time.time()
            try:
                result = await attempt(LeaseTerms(self.owner, now, now + self.lease_seconds))
            except LeaseHeldError as exc:
                if now >= deadline:
                    raise RunError(
                        f"another engine ({exc.holder}) is moving this run; its lease did not end within {patience:g} s",
                        run_id=run_id,
                        code="leased",
                    ) from None
            else:
                self._held.add(run_id)
                self._idle.discard(run_id)
                return result
            await anyio.sleep(min(pause, max(deadline - now, 0.0)))
            pause = min(pause * 2, 0.5)

    async def _let_go(self: Engine, rt: RunRuntime) -> None:
        """Release the run's lease if it rests (no driver, no step in flight)."""
        if rt.run_id in self._held and not (rt.driving or rt.running or rt.workers):
            self._held.discard(rt.run_id)
            self._idle.discard(rt.run_id)
            await self.storage.release_lease(rt.run_id, self.owner)

    async def _keep_leases(self: Engine) -> None:
        """Renew the leases of runs that move; release those found resting twice in a row (a run
        between an interaction's lease and its first move is not let go under it)."""
        while True:
            await anyio.sleep(self.lease_seconds / 3)
            for run_id in list(self._held):
                try:
                    await self._keep_lease(run_id)
                except StorageError:
                    # The store fails for now (a locked file, a lost server): try at the next round.
                    # A lease that ends meanwhile is safe: storage accepts each event number once.
                    continue

    async def _keep_lease(self: Engine, run_id: str) -> None:
        rt = self._runs.get(run_id)
        busy = rt is not None and (rt.driving or rt.running or rt.workers)
        if not busy and run_id in self._idle:
            self._held.discard(run_id)
            self._idle.discard(run_id)
            await self.storage.release_lease(run_id, self.owner)
            return
        if not busy:
            self._idle.add(run_id)
        now = time.time()
        holder = await self.storage.acquire_lease(run_id, self.owner, now=now, until=now + self.lease_seconds)
        if holder is not None:  # this engine stalled past its lease: another one owns the run now
            self._held.discard(run_id)
            if rt is not None:
                rt.broken = True

    async def _release_all(self: Engine) -> None:
        for run_id in list(self._held):
            await self.storage.release_lease(run_id, self.owner)
        self._held.clear()

    # -- the worker loop ------------------------------------------------------------------------

    async def work(self: Engine, *, concurrency: int = 4, poll: float = 1.0, stop: anyio.Event | None = None) -> None:
        """Move runs from storage until ``stop`` is set (or forever): claim up to ``concurrency``
        runs that need an engine and nobody leases — runs left RUNNING (their engine died or gave
        them up), runs whose timer is due — move each until it rests, and look again every ``poll``
        seconds. Timer starts of routines loaded elsewhere are picked up at each look too."""
        busy: set[str] = set()
        async with anyio.create_task_group() as tg:
            while stop is None or not stop.is_set():
                free = concurrency - len(busy)
                try:
                    if free > 0:
                        now = time.time()
                        claimed = await self.storage.claim_runs(
                            self.owner, now=now, until=now + self.lease_seconds, due_before=self.clock.now(), limit=free
                        )
                        for run_id in claimed:
                            busy.add(run_id)
                            tg.start_soon(self._work_on, run_id, busy)
                    await self._load_start_timers()
                    await self._fire_due()
                    await self._send_left()
                except StorageError:
                    pass  # the store fails for now (a locked file, a lost server): look again after ``poll``
                with anyio.move_on_after(poll):
                    if stop is not None:
                        await stop.wait()
                    else:
                        await anyio.sleep_forever()
            tg.cancel_scope.cancel()

    async def _work_on(self: Engine, run_id: str, busy: set[str]) -> None:
        try:
            try:
                # Leased to us by the claim; not held here before, so the run is brought up to
                # date from storage (another engine may have moved it since this one saw it).
                rt = await self._runtime(run_id, own=True, wait=0)
            except (NotFoundError, RunError):
                await self.storage.release_lease(run_id, self.owner)
                self._held.discard(run_id)
                return
            now = self.clock.now()
            for wait in list(rt.state.waits.values()):
                if wait.spec.kind is WaitKind.TIMER and (wait.spec.due or 0.0) <= now:
                    await self._fire_timer(rt, wait.id, wait.spec.due)
            await self._settle_kicked(rt)
            await self._let_go(rt)
        except StorageError:
            # The store failed while the run moved: it is claimed again, and reloaded from storage,
            # once this engine's lease on it has ended.
            self._held.discard(run_id)
        finally:
            busy.discard(run_id)
