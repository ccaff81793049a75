"""The outbox: messages and signals a run throws reach their targets even if the engine dies.

A throw is recorded with the commit that makes it (the decision that throws is in the run's log);
the same commit puts an OUTBOX entry in the wait index, one per message or signal. The live engine
delivers it right after the commit and then drops the entry. An engine that died in between leaves
the entry behind: ``Engine.open`` and every round of ``Engine.work`` deliver what is left, with the
throwing run leased so that two engines never deliver one entry at once.

Delivery is at least once, made idempotent where the engine can tell:

- a message or signal reaches only the waits registered when it was thrown (a wait registered
  later never receives a throw made before it);
- a run that it starts (a message or signal start) gets a run id derived from the entry and the
  routine, so delivering again does not start it twice.

What is not told apart: a delivery that resolved a waiting run, then died before its entry was
dropped, is made again; the wait is gone by then, so the message goes to another wait of the same
name and correlation registered before the throw, or else to a message start.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from vrooli_core.errors import NotFoundError, RunError, StorageError
from vrooli_core.model import Wait, WaitKind, WaitSpec
from vrooli_core.model.decision import Emit
from vrooli_core.storage.base import Commit

if TYPE_CHECKING:
    from vrooli_core.engine.engine import Engine
    from vrooli_core.engine.state import RunState

#: Run ids of runs a delivered entry starts: uuid5 of the entry's id and the routine's.
_STARTED_BY = uuid.UUID("5b0f2f4e-5f0c-4f7e-9a43-6f7574626f78")


def outbox_entries(st: RunState, emits: list[Emit], now: float) -> list[Wait]:
    """The OUTBOX entries for what the run's latest events throw (ids unique per run and commit)."""
    return [
        Wait(
            f"{st.run_id}:out:{st.seq}:{i}",
            st.run_id,
            "",
            WaitSpec(WaitKind.OUTBOX, emit.name, key=emit.kind.value, correlation=emit.correlation, payload=emit.payload),
            now,
        )
        for i, emit in enumerate(emits)
    ]


def started_run_id(entry_id: str, routine_id: str) -> str:
    """The id of the run that delivering ``entry_id`` starts for ``routine_id``."""
    return uuid.uuid5(_STARTED_BY, f"{entry_id}/{routine_id}").hex


class Outbox:
    """Delivering OUTBOX entries (mixed into :class:`~vrooli_core.engine.Engine`)."""

    async def _send(self: Engine, entries: list[Wait]) -> None:
        """Deliver entries the live engine just committed, then drop them."""
        for entry in entries:
            await self._deliver(entry)
            await self.storage.commit(Commit(entry.run_id, drop_waits=(entry.id,)))

    async def _send_left(self: Engine) -> int:
        """Deliver the entries engines that died left behind (the throwing run leased meanwhile);
        return how many were delivered. An entry whose run another engine holds is left to it."""
        sent = 0
        for entry in await self.storage.find_waits(kinds=(WaitKind.OUTBOX,)):
            run_id = entry.run_id
            mine = run_id in self._held
            if not mine:
                try:
                    await self._hold(run_id, wait=0)
                except RunError as exc:
                    if exc.code == "leased":
                        continue
                    raise
            try:
                try:
                    await self.storage.get_wait(entry.id)
                except NotFoundError:
                    continue  # delivered meanwhile
                await self._send([entry])
                sent += 1
            finally:
                rt = self._runs.get(run_id)
                if not mine and not (rt is not None and (rt.driving or rt.running or rt.workers)):
                    self._held.discard(run_id)
                    try:
                        await self.storage.release_lease(run_id, self.owner)
                    except StorageError:
                        pass  # the lease ends by itself
        return sent

    @staticmethod
    def _emit_of(entry: Wait) -> Emit:
        spec = entry.spec
        return Emit(WaitKind(spec.key), spec.name, spec.payload, spec.correlation)

    def _reached_by(self: Engine, waits: list[Wait], entry: Wait) -> list[Wait]:
        """The waits a throw reaches: those registered when it was thrown."""
        return [w for w in waits if w.created_at <= entry.created_at]

    def _start_key(self: Engine, entry: Wait | None, routine_id: str) -> Any:
        return None if entry is None else started_run_id(entry.id, routine_id)
