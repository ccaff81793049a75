"""Group commit, the async side: writes that callers make while a write transaction is under way wait
for the next one, which does all of them (``together.py`` does them).

The first caller to find no transaction under way does its own write at once, alone; callers that
arrive meanwhile queue. When a transaction ends, the next caller in line takes the whole queue into
the next one, and the callers whose writes it did find them done. So a lone writer never waits for
company, and under load a transaction carries everything that arrived during the one before it.

A caller cancelled before its write was taken into a transaction withdraws it (nothing is
written); once it was taken, the caller waits for the transaction to end, as a commit is never
abandoned half way (``backend.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio

__all__ = ["Group"]


class _Batch:
    __slots__ = ("done", "outcomes", "writes")

    def __init__(self) -> None:
        self.writes: list[Any] = []
        self.outcomes: list[Any] | None = None
        self.done = anyio.Event()


class Group:
    """Gathers writes into transactions, one transaction at a time."""

    def __init__(self) -> None:
        self._lock = anyio.Lock()
        self._next = _Batch()
        #: Writes per transaction, for ``bench`` and tests: the sizes of the last transactions.
        self.sizes: list[int] = []

    async def join(self, write: Any, run: Callable[[list[Any]], Awaitable[list[Any]]]) -> Any:
        """``write``'s outcome, from the transaction that does it; ``run`` does a list of writes in
        one transaction and returns their outcomes (results or exceptions), in order."""
        batch = self._next
        index = len(batch.writes)
        batch.writes.append(write)
        try:
            async with self._lock:
                if batch.outcomes is None:
                    await self._flush(run)
        except anyio.get_cancelled_exc_class():
            if batch is self._next:  # not taken yet: withdraw it
                batch.writes[index] = _WITHDRAWN
            else:
                with anyio.CancelScope(shield=True):
                    await batch.done.wait()
            raise
        assert batch.outcomes is not None
        return batch.outcomes[index]

    async def _flush(self, run: Callable[[list[Any]], Awaitable[list[Any]]]) -> None:
        batch, self._next = self._next, _Batch()
        writes = [w for w in batch.writes if w is not _WITHDRAWN]
        with anyio.CancelScope(shield=True):
            try:
                outcomes = await run(writes) if writes else []
            except BaseException as exc:  # every caller of the batch gets the failure
                outcomes = [exc] * len(writes)
                if not isinstance(exc, Exception):
                    raise
            finally:
                done = iter(outcomes)
                batch.outcomes = [w if w is _WITHDRAWN else next(done) for w in batch.writes]
                self.sizes = [*self.sizes[-63:], len(writes)]
                batch.done.set()


_WITHDRAWN: Any = object()
