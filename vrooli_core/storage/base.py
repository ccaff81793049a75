"""The StorageBackend contract: routines, runs, the append-only event log, snapshots, wait indexes."""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import attrs
import cattrs

from vrooli_core.errors import LeaseHeldError, NotFoundError, StorageError
from vrooli_core.model import Event, RoutineDef, Run, RunStatus, Wait, WaitKind


@attrs.frozen
class StoredRoutine:
    routine: RoutineDef
    source: str
    path: str | None = None


@attrs.frozen
class LeaseTerms:
    """A lease taken by a commit: ``owner`` holds the run until ``until`` (epoch seconds, wall
    clock), unless another owner's lease has not ended by ``now``."""

    owner: str
    now: float
    until: float


@attrs.frozen
class Commit:
    """One atomic write for one run: events appended (sequence numbers must follow the last recorded
    one without gaps; a number already recorded raises ``DuplicateEventError``), the run record
    created or replaced, and wait index entries added or removed.

    With a backend whose ``commit_leases`` is true, a commit may also take the run's lease
    (``lease``: as ``acquire_lease`` would; when another owner holds it the commit is refused with
    ``LeaseHeldError`` and writes nothing) and drop it (``release``: the owner whose lease ends with
    the commit, as ``release_lease``). The engine sets them only on such backends."""

    run_id: str
    events: tuple[Event, ...] = ()
    run: Run | None = None
    put_waits: tuple[Wait, ...] = ()
    drop_waits: tuple[str, ...] = ()
    lease: LeaseTerms | None = None
    release: str | None = None


@attrs.frozen
class LoadedRun:
    """A run as ``load_run`` reads it: the record, the latest snapshot (``(seq, state)`` or
    ``None``) and the events after the snapshot (the whole log without one)."""

    run: Run
    snapshot: tuple[int, Mapping[str, Any]] | None
    events: list[Event]


class StorageBackend(abc.ABC):
    """Persists what the engine records. Every method may be called from the engine's event loop and
    must not block it for long (use an async driver or worker threads).

    Rules every backend keeps (``vrooli_core.testing.conformance.StorageConformance`` checks them):

    - a commit is all or nothing: a value that cannot be stored refuses the whole commit, and the
      log, run record and wait index stay as they were;
    - a commit to a run that does not exist, without a run record, raises ``NotFoundError``;
    - reading the events of a run that does not exist raises ``NotFoundError``;
    - "newest first" is by creation time, ties by creation order; replacing a run record does not
      move it; ``limit=0`` returns nothing;
    - dropping a wait that is not indexed is not an error;
    - a lease is held by one owner at a time, and ``claim_runs`` never hands one run to two callers.
    """

    name: ClassVar[str]
    #: URL schemes this backend opens (``"memory"``, ``"sqlite"``, ``"postgresql+psycopg"``).
    schemes: ClassVar[tuple[str, ...]] = ()
    #: Events between snapshots of a run's state (``None``: never; resume replays the whole log).
    snapshot_every: ClassVar[int | None] = 1000
    #: Whether ``commit`` applies ``Commit.lease`` and ``Commit.release`` in the commit's own
    #: transaction. Without it the engine takes and drops leases with calls of their own.
    commit_leases: ClassVar[bool] = False

    @classmethod
    @abc.abstractmethod
    def from_url(cls, url: str, *, converter: cattrs.Converter) -> Self:
        """A backend for ``url`` (not yet opened)."""

    async def open(self) -> None:  # noqa: B027 - optional: a backend without connections needs none
        """Connect, create or migrate the schema."""

    async def close(self) -> None:  # noqa: B027 - optional, like open
        """Release connections; the backend is not used afterwards."""

    # schema versions (``vrooli db``): called on a backend that is not opened; a backend whose
    # schema is versioned (migrations) overrides them, the others say they have none.
    async def schema_current(self) -> str | None:
        """The schema revision the store is at (``None``: empty, never migrated)."""
        raise StorageError(f"{self.name} storage has no schema revisions")

    async def schema_head(self) -> str:
        """The newest schema revision this code knows."""
        raise StorageError(f"{self.name} storage has no schema revisions")

    async def schema_upgrade(self, revision: str = "head") -> None:
        """Migrate the store up to ``revision``."""
        raise StorageError(f"{self.name} storage has no schema migrations")

    async def schema_downgrade(self, revision: str) -> None:
        """Migrate the store down to ``revision`` (``"base"``: empty)."""
        raise StorageError(f"{self.name} storage has no schema migrations")

    # routines
    @abc.abstractmethod
    async def put_routine(self, stored: StoredRoutine) -> None:
        """Store a routine version; storing the same id, version and content again is a no-op, other
        content under an existing id and version raises ``StorageError``."""

    @abc.abstractmethod
    async def get_routine(self, routine_id: str, version: str) -> StoredRoutine:
        """Raise ``NotFoundError`` when absent."""

    @abc.abstractmethod
    async def list_routines(self, routine_id: str | None = None) -> list[RoutineDef]:
        """Every stored version (of ``routine_id``), oldest first."""

    # runs and events
    @abc.abstractmethod
    async def commit(self, commit: Commit) -> None:
        """Apply ``commit`` atomically."""

    @abc.abstractmethod
    async def get_run(self, run_id: str) -> Run:
        """Raise ``NotFoundError`` when absent."""

    @abc.abstractmethod
    async def list_runs(
        self,
        *,
        status: Sequence[RunStatus] | None = None,
        routine_id: str | None = None,
        parent_run_id: str | None = None,
        labels: Mapping[str, str] | None = None,
        limit: int = 100,
    ) -> list[Run]:
        """Runs matching every given filter, newest first."""

    @abc.abstractmethod
    async def read_events(self, run_id: str, after: int = 0, limit: int | None = None) -> list[Event]:
        """Events of a run with ``seq > after``, in order."""

    async def load_run(self, run_id: str, *, lease: LeaseTerms | None = None) -> LoadedRun:
        """Everything needed to bring the run back: its record, latest snapshot and the events after
        it, read together. ``lease``: take the run's lease first (``LeaseHeldError`` when another
        owner holds it). ``NotFoundError`` when the run does not exist.

        This default makes the calls one by one; a backend that can do it in one transaction (or
        one round trip) should, as the engine calls it whenever it loads a run."""
        if lease is not None:
            holder = await self.acquire_lease(run_id, lease.owner, now=lease.now, until=lease.until)
            if holder is not None:
                raise LeaseHeldError(run_id, holder)
        try:
            run = await self.get_run(run_id)
        except NotFoundError:
            if lease is not None:
                await self.release_lease(run_id, lease.owner)
            raise
        snapshot = await self.load_snapshot(run_id)
        events = await self.read_events(run_id, after=snapshot[0] if snapshot is not None else 0)
        return LoadedRun(run, snapshot, events)

    @abc.abstractmethod
    async def save_snapshot(self, run_id: str, seq: int, state: Mapping[str, Any]) -> None:
        """Store the run's state as of event ``seq`` (a JSON-compatible mapping)."""

    @abc.abstractmethod
    async def load_snapshot(self, run_id: str) -> tuple[int, Mapping[str, Any]] | None:
        """The latest snapshot, or ``None``."""

    # waits (human tasks are waits of kind HUMAN and CHOICE)
    @abc.abstractmethod
    async def get_wait(self, wait_id: str) -> Wait:
        """Raise ``NotFoundError`` when absent (never registered, or already resolved)."""

    @abc.abstractmethod
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
        """Registered waits matching every given filter, oldest first (timers: earliest due first)."""

    # documents (coordination state, findings, caches)
    @abc.abstractmethod
    async def put_doc(self, collection: str, doc_id: str, data: Mapping[str, Any]) -> None: ...

    @abc.abstractmethod
    async def get_doc(self, collection: str, doc_id: str) -> Mapping[str, Any]:
        """Raise ``NotFoundError`` when absent."""

    @abc.abstractmethod
    async def list_docs(self, collection: str) -> list[tuple[str, Mapping[str, Any]]]: ...

    @abc.abstractmethod
    async def delete_doc(self, collection: str, doc_id: str) -> None: ...

    # leases: which engine moves a run when several engines (worker processes) share the store
    @abc.abstractmethod
    async def acquire_lease(self, run_id: str, owner: str, *, now: float, until: float) -> str | None:
        """Take or extend the lease on ``run_id`` for ``owner`` until ``until`` (epoch seconds, wall
        clock): it succeeds when nobody holds it, the holder's lease ended (``until <= now``), or
        ``owner`` holds it. Returns ``None`` when ``owner`` holds it now, else the current holder.
        The run need not exist yet (an engine leases a run before creating it)."""

    @abc.abstractmethod
    async def release_lease(self, run_id: str, owner: str) -> None:
        """Drop ``owner``'s lease on ``run_id``; nothing happens when ``owner`` does not hold it."""

    @abc.abstractmethod
    async def claim_runs(self, owner: str, *, now: float, until: float, due_before: float, limit: int) -> list[str]:
        """Lease to ``owner`` (until ``until``) up to ``limit`` runs that need an engine and that
        nobody leases (no lease, or one that ended by ``now``): runs whose record says RUNNING, and
        runs with a TIMER wait due by ``due_before`` (the engine clock). Oldest first. Atomic: two
        callers never get the same run, and a run leased with ``acquire_lease`` is not claimed."""
