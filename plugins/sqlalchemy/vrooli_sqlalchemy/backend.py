"""The SQL storage backend: ``sqlite:///path.db`` and ``postgresql://user@host/db``.

Async I/O: each operation is one call into a worker thread (``anyio.to_thread.run_sync``) that does
the whole unit of work there, on SQLAlchemy's synchronous engine and the standard drivers (Python's
sqlite3, psycopg 3). Why not SQLAlchemy's asyncio layer with aiosqlite or psycopg's async mode:

- one thread hop per operation instead of one per statement (a commit is four to six statements;
  aiosqlite hops to its thread for each), and no greenlet bridging;
- a commit is never abandoned half way: a cancelled caller waits for its transaction to finish or
  roll back, so a cancellation cannot leave the engine unsure what was written;
- migrations (alembic is synchronous) run on the same engine and connections;
- the drivers are the two most used ones of their databases.

The event loop only waits on the thread; ``bench_io.py`` measures what that costs. This module does
not import SQLAlchemy: registering the plugin (``vrooli --help``, ``vrooli plugins``, a ``memory://``
store) stays cheap; ``open()`` imports it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

import anyio
import anyio.to_thread
import cattrs

from vrooli_core.errors import StorageError
from vrooli_core.model import Event, RoutineDef, Run, RunStatus, Wait, WaitKind
from vrooli_core.storage.base import Commit, LeaseTerms, LoadedRun, StorageBackend, StoredRoutine
from vrooli_sqlalchemy.group import Group
from vrooli_sqlalchemy.url import SCHEMES, StoreURL, parse_url

if TYPE_CHECKING:
    from vrooli_sqlalchemy.store import SyncStore

__all__ = ["SQLStorage"]

T = TypeVar("T")


class SQLStorage(StorageBackend):
    """Durable storage on SQLite (a file) or PostgreSQL; the schema is migrated by alembic on open."""

    name: ClassVar[str] = "sqlalchemy"
    schemes: ClassVar[tuple[str, ...]] = SCHEMES
    commit_leases: ClassVar[bool] = True

    def __init__(self, url: StoreURL, *, converter: cattrs.Converter) -> None:
        self.url = url
        self.converter = converter
        self._store: SyncStore | None = None
        self._threads: anyio.CapacityLimiter | None = None
        self._group = Group()

    @classmethod
    def from_url(cls, url: str, *, converter: cattrs.Converter) -> Self:
        return cls(parse_url(url), converter=converter)

    def __repr__(self) -> str:
        return f"<SQLStorage {self.url.display}{'' if self._store else ' (closed)'}>"

    async def open(self) -> None:
        if self._store is not None:
            return
        from vrooli_sqlalchemy.database import POOL_SIZE
        from vrooli_sqlalchemy.store import SyncStore

        # As many threads as connections: a thread never waits for the pool.
        self._threads = anyio.CapacityLimiter(POOL_SIZE)
        self._store = await anyio.to_thread.run_sync(SyncStore.open, self.url, self.converter, limiter=self._threads)

    async def close(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            await anyio.to_thread.run_sync(store.close, limiter=self._threads)

    # schema revisions (``vrooli db``): on a backend that is not opened, like the kernel asks
    async def schema_current(self) -> str | None:
        from vrooli_sqlalchemy import migrate

        return await anyio.to_thread.run_sync(migrate.current, self.url)

    async def schema_head(self) -> str:
        from vrooli_sqlalchemy import migrate

        return await anyio.to_thread.run_sync(migrate.head)

    async def schema_upgrade(self, revision: str = "head") -> None:
        from vrooli_sqlalchemy import migrate

        await anyio.to_thread.run_sync(migrate.upgrade, self.url, revision)

    async def schema_downgrade(self, revision: str) -> None:
        from vrooli_sqlalchemy import migrate

        await anyio.to_thread.run_sync(migrate.downgrade, self.url, revision)

    async def _write(self, write: Any) -> Any:
        """Do ``write`` (a commit, a lease taken or dropped) in the group's next transaction."""
        if self._store is None:
            raise StorageError(f"{self.url.display}: the store is not open")
        outcome = await self._group.join(write, self._write_group)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def _write_group(self, writes: list[Any]) -> list[Any]:
        from vrooli_sqlalchemy.together import write_together

        store = self._store
        if store is None:
            error = StorageError(f"{self.url.display}: the store is not open")
            return [error] * len(writes)
        try:
            # Through ``call``: database failures typed, and a group whose connection was lost
            # before its COMMIT (nothing written) done once more.
            return await anyio.to_thread.run_sync(store.call, write_together, store, writes, limiter=self._threads)
        except StorageError as exc:
            return [exc] * len(writes)

    async def _call(self, work: Callable[[SyncStore], T]) -> T:
        """``work(store)`` in a worker thread."""
        store = self._store
        if store is None:
            raise StorageError(f"{self.url.display}: the store is not open")
        return await anyio.to_thread.run_sync(store.call, work, store, limiter=self._threads)

    # routines
    async def put_routine(self, stored: StoredRoutine) -> None:
        await self._call(lambda s: s.put_routine(stored))

    async def get_routine(self, routine_id: str, version: str) -> StoredRoutine:
        return await self._call(lambda s: s.get_routine(routine_id, version))

    async def list_routines(self, routine_id: str | None = None) -> list[RoutineDef]:
        return await self._call(lambda s: s.list_routines(routine_id))

    # runs and events
    async def commit(self, commit: Commit) -> None:
        await self._write(commit)

    async def get_run(self, run_id: str) -> Run:
        return await self._call(lambda s: s.get_run(run_id))

    async def list_runs(
        self,
        *,
        status: Sequence[RunStatus] | None = None,
        routine_id: str | None = None,
        parent_run_id: str | None = None,
        labels: Mapping[str, str] | None = None,
        limit: int = 100,
    ) -> list[Run]:
        return await self._call(lambda s: s.list_runs(status, routine_id, parent_run_id, labels, limit))

    async def read_events(self, run_id: str, after: int = 0, limit: int | None = None) -> list[Event]:
        return await self._call(lambda s: s.read_events(run_id, after, limit))

    async def load_run(self, run_id: str, *, lease: LeaseTerms | None = None) -> LoadedRun:
        if lease is None:
            return await self._call(lambda s: s.load_run(run_id, None))
        from vrooli_sqlalchemy.together import Load

        loaded: LoadedRun = await self._write(Load(run_id, lease))
        return loaded

    async def save_snapshot(self, run_id: str, seq: int, state: Mapping[str, Any]) -> None:
        await self._call(lambda s: s.save_snapshot(run_id, seq, state))

    async def load_snapshot(self, run_id: str) -> tuple[int, Mapping[str, Any]] | None:
        return await self._call(lambda s: s.load_snapshot(run_id))

    # waits
    async def get_wait(self, wait_id: str) -> Wait:
        return await self._call(lambda s: s.get_wait(wait_id))

    async def find_waits(
        self,
        *,
        kinds: Sequence[WaitKind] | None = None,
        name: str | None = None,
        correlation: str | None = None,
        run_id: str | None = None,
        due_before: float | None = None,
        limit: int | None = None,
    ) -> list[Wait]:
        return await self._call(lambda s: s.find_waits(kinds, name, correlation, run_id, due_before, limit))

    # documents
    async def put_doc(self, collection: str, doc_id: str, data: Mapping[str, Any]) -> None:
        await self._call(lambda s: s.put_doc(collection, doc_id, data))

    async def get_doc(self, collection: str, doc_id: str) -> Mapping[str, Any]:
        return await self._call(lambda s: s.get_doc(collection, doc_id))

    async def list_docs(self, collection: str) -> list[tuple[str, Mapping[str, Any]]]:
        return await self._call(lambda s: s.list_docs(collection))

    async def delete_doc(self, collection: str, doc_id: str) -> None:
        await self._call(lambda s: s.delete_doc(collection, doc_id))

    # leases
    async def acquire_lease(self, run_id: str, owner: str, *, now: float, until: float) -> str | None:
        from vrooli_sqlalchemy.together import Acquire

        holder: str | None = await self._write(Acquire(run_id, owner, now, until))
        return holder

    async def release_lease(self, run_id: str, owner: str) -> None:
        from vrooli_sqlalchemy.together import Release

        await self._write(Release(run_id, owner))

    async def claim_runs(self, owner: str, *, now: float, until: float, due_before: float, limit: int) -> list[str]:
        return await self._call(lambda s: s.claim_runs(owner, now, until, due_before, limit))
