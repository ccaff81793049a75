"""Group commit: the writes of many callers (commits of many runs, leases taken and dropped) done in
one transaction, synchronously, like ``store.py``; ``backend.py`` gathers them.

One write transaction costs far more than what it writes: on SQLite the fsync of the log and the
database's write lock, on either database the round trips, ``BEGIN`` and ``COMMIT``, and
SQLAlchemy's work per statement. Callers that arrive while a transaction is under way wait for the
next one, which does all of their writes together, with one statement per table for all of them.

Each write is decided on its own, as if it were alone and the writes before it in the group were
done: the rows it depends on (run records and their last sequence numbers, leases) are read and
locked at the start, every write is checked against that view — which the writes accepted before
it change — and a write that is refused (a duplicate event, a gap, a run that does not exist, a lease
another engine holds, a value that cannot be stored) gets its own error and writes nothing, while
the others go on. The database is then changed in bulk from the final view.

What cannot be decided from the view (another process inserting the same row between our reads
and our writes on PostgreSQL, a deadlock) fails the group's transaction, which writes nothing: each
write is then done again alone, by the store's own methods. So is each write after a group whose
COMMIT got no answer, once it is known not to have been stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
import sqlalchemy as sa

from vrooli_core.errors import LeaseHeldError, NotFoundError, StorageError
from vrooli_core.storage.base import Commit, LeaseTerms
from vrooli_sqlalchemy import recovery
from vrooli_sqlalchemy.faults import CommitUnknown
from vrooli_sqlalchemy.store import check_sequence, upsert
from vrooli_sqlalchemy.tables import events, leases, run_labels, runs, waits

__all__ = ["Acquire", "Load", "Release", "Write", "alone", "write_together"]

#: Values per ``IN (…)`` list: far below SQLite's limit on bound parameters.
_CHUNK = 500
#: The outcome of a ``Load`` until its run is read, after the group's writes.
_LOAD: Any = object()


@attrs.frozen
class Acquire:
    """``acquire_lease``: its outcome is ``None`` (held now by ``owner``) or the holder."""

    run_id: str
    owner: str
    now: float
    until: float


@attrs.frozen
class Release:
    """``release_lease``."""

    run_id: str
    owner: str


@attrs.frozen
class Load:
    """``load_run`` with a lease: the lease is taken with the group's writes, and the run is read
    in the same transaction after them; its outcome is the ``LoadedRun``."""

    run_id: str
    lease: LeaseTerms


Write = Commit | Acquire | Release | Load


def write_together(store: Any, writes: Sequence[Write]) -> list[Any]:
    """Do ``writes`` in one transaction if they can be; return each one's outcome: its result, or
    the ``StorageError`` that refused it. Database failures that concern every write (a locked file,
    a lost server) are raised."""
    outcomes: list[Any] = [None] * len(writes)
    todo: list[tuple[int, Write, Any]] = []
    for i, write in enumerate(writes):
        try:
            todo.append((i, write, store.commit_rows(write) if isinstance(write, Commit) else None))
        except StorageError as exc:
            outcomes[i] = exc
    if not todo:
        return outcomes
    try:
        with store.db.write() as conn:
            view = _View.read(conn, todo)
            for i, write, rows in todo:
                try:
                    outcomes[i] = view.apply(write, rows)
                except StorageError as exc:
                    outcomes[i] = exc
            view.store(conn)
            for i, write, _ in todo:
                if isinstance(write, Load) and outcomes[i] is _LOAD:
                    outcomes[i] = store.read_run(conn, write.run_id)
    except sa.exc.DBAPIError as exc:
        if not _undecidable(exc):
            raise
        for i, write, _ in todo:  # the transaction wrote nothing: each alone
            outcomes[i] = alone(store, write)
    except CommitUnknown as unknown:
        for i, write, rows in todo:
            if not isinstance(outcomes[i], StorageError):
                outcomes[i] = _after_unknown(store, write, rows, unknown)
    return outcomes


def alone(store: Any, write: Write) -> Any:
    """Do one write in its own transaction; its outcome."""
    try:
        if isinstance(write, Commit):
            return store.call(store.commit, write)
        if isinstance(write, Acquire):
            return store.call(store.acquire_lease, write.run_id, write.owner, write.now, write.until)
        if isinstance(write, Load):
            return store.call(store.load_run, write.run_id, write.lease)
        return store.call(store.release_lease, write.run_id, write.owner)
    except StorageError as exc:
        return exc


def _after_unknown(store: Any, write: Write, rows: Any, unknown: CommitUnknown) -> Any:
    """The outcome of a write whose group's COMMIT got no answer."""
    if isinstance(write, Commit):
        try:
            stored = recovery.commit_stored(store.db, write, rows.events, unknown)
        except StorageError as exc:
            return exc
        if stored:
            return None
    # Not stored, or a lease: taking a lease again for the same owner, or dropping it, is harmless.
    return alone(store, write)


def _undecidable(exc: sa.exc.DBAPIError) -> bool:
    """A failure that concerns rows, not the connection: a unique or foreign key violation by a
    concurrent writer, a deadlock, a serialisation failure."""
    if isinstance(exc, sa.exc.IntegrityError):
        return True
    return getattr(exc.orig, "sqlstate", None) in ("40001", "40P01")


def _chunks(keys: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(keys), _CHUNK):
        yield list(keys[start : start + _CHUNK])


_LAST = (
    sa.select(sa.func.max(events.c.seq)).where(events.c.run_id == runs.c.id).correlate(runs).scalar_subquery()
)
_RUNS = (
    sa.select(runs.c.id, runs.c.labels, _LAST)
    .where(runs.c.id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(runs.c.id)
    .with_for_update(of=runs)
)
_LEASES = (
    sa.select(leases.c.run_id, leases.c.owner, leases.c.until)
    .where(leases.c.run_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(leases.c.run_id)
    .with_for_update()
)
_INSERT_RUN = sa.insert(runs)
_UPDATE_RUN = sa.update(runs).where(runs.c.id == sa.bindparam("run_key"))
_DROP_LABELS = sa.delete(run_labels).where(run_labels.c.run_id.in_(sa.bindparam("ids", expanding=True)))
_INSERT_LABELS = sa.insert(run_labels)
_INSERT_EVENTS = sa.insert(events)
_DROP_WAITS = sa.delete(waits).where(waits.c.id.in_(sa.bindparam("ids", expanding=True)))
_INSERT_LEASE = sa.insert(leases)
_UPDATE_LEASE = sa.update(leases).where(leases.c.run_id == sa.bindparam("leased_run"))
_RELEASE = sa.delete(leases).where(leases.c.run_id == sa.bindparam("run_id"), leases.c.owner == sa.bindparam("owner"))
_DROP_LEASES = sa.delete(leases).where(leases.c.run_id.in_(sa.bindparam("ids", expanding=True)))


@attrs.define
class _View:
    """The rows the group's writes depend on, as stored and then as each accepted write leaves them."""

    #: run id → its stored labels (JSON text); runs the group creates are added with ``None``.
    labels: dict[str, str | None]
    #: run id → the last recorded sequence number (0: none).
    last: dict[str, int]
    #: run id → (owner, until) as stored, for the runs whose leases the group touches.
    leases_before: dict[str, tuple[str, float]]
    leases: dict[str, tuple[str, float] | None] = attrs.Factory(dict)
    run_rows: dict[str, dict[str, Any]] = attrs.Factory(dict)
    event_rows: list[dict[str, Any]] = attrs.Factory(list)
    #: wait id → its row (put) or ``None`` (dropped), the last change wins; in the order the rows
    #: that are new to the table were put.
    waits: dict[str, dict[str, Any] | None] = attrs.Factory(dict)
    #: waits dropped by a write of the group (deleted first, even when a later write puts them again).
    dropped: set[str] = attrs.Factory(set)
    #: runs whose leases were read; releases of the others, done blind.
    read_leases: set[str] = attrs.Factory(set)
    releases: list[dict[str, str]] = attrs.Factory(list)

    @classmethod
    def read(cls, conn: sa.Connection, todo: list[tuple[int, Write, Any]]) -> _View:
        ids = sorted({write.run_id for _, write, _ in todo})
        # Leases are read (and locked) only where a write takes one; a release alone is a blind
        # "delete if this owner holds it".
        leased = sorted({w.run_id for _, w, _ in todo if isinstance(w, (Acquire, Load)) or getattr(w, "lease", None)})
        labels: dict[str, str | None] = {}
        last: dict[str, int] = {}
        for chunk in _chunks(ids):
            for run_id, stored, seq in conn.execute(_RUNS, {"ids": chunk}):
                labels[run_id] = stored
                last[run_id] = seq or 0
        before: dict[str, tuple[str, float]] = {}
        for chunk in _chunks(leased):
            for run_id, owner, until in conn.execute(_LEASES, {"ids": chunk}):
                before[run_id] = (owner, until)
        return cls(labels, last, before, dict(before), read_leases=set(leased))

    def apply(self, write: Write, rows: Any) -> Any:
        """Check ``write`` against the view and change the view as it would; raise if refused."""
        if isinstance(write, Acquire):
            return self._take(write.run_id, write.owner, write.now, write.until)
        if isinstance(write, Release):
            self._drop(write.run_id, write.owner)
            return None
        if isinstance(write, Load):
            if write.run_id not in self.labels:
                raise NotFoundError(f"no run {write.run_id!r}")
            self._lease(write.run_id, write.lease)
            return _LOAD
        return self._commit(write, rows)

    def _commit(self, commit: Commit, rows: Any) -> None:
        run_id = commit.run_id
        exists = run_id in self.labels
        if not exists and commit.run is None:
            raise NotFoundError(f"no run {run_id!r}")
        if rows.events:
            check_sequence(commit, self.last.get(run_id, 0) + 1)
        if commit.lease is not None:
            self._lease(run_id, commit.lease)
        if commit.release is not None:
            self._drop(run_id, commit.release)
        if not exists:
            self.labels[run_id] = None
        if rows.run is not None:
            self.run_rows[run_id] = rows.run
        if rows.events:
            self.event_rows.extend(rows.events)
            self.last[run_id] = rows.events[-1]["seq"]
        for wait_id in commit.drop_waits:
            self.waits[wait_id] = None
            self.dropped.add(wait_id)
        for row in rows.waits:
            if self.waits.get(row["id"], row) is None:
                # Put again after a drop: a new row, placed after the rows put before it.
                del self.waits[row["id"]]
            self.waits[row["id"]] = row

    def _take(self, run_id: str, owner: str, now: float, until: float) -> str | None:
        held = self.leases.get(run_id)
        if held is None or held[1] <= now or held[0] == owner:
            self.leases[run_id] = (owner, until)
            return None
        return held[0]

    def _lease(self, run_id: str, terms: LeaseTerms) -> None:
        """Take the lease on ``terms`` or refuse (``LeaseHeldError``); the last check of a write:
        nothing after it can refuse the write."""
        holder = self._take(run_id, terms.owner, terms.now, terms.until)
        if holder is not None:
            raise LeaseHeldError(run_id, holder)

    def _drop(self, run_id: str, owner: str) -> None:
        if run_id not in self.read_leases:
            self.releases.append({"run_id": run_id, "owner": owner})
            return
        held = self.leases.get(run_id)
        if held is not None and held[0] == owner:
            self.leases[run_id] = None

    def store(self, conn: sa.Connection) -> None:
        """Write the view's changes: one statement per kind of change."""
        created = [row for run_id, row in self.run_rows.items() if self.labels[run_id] is None]
        replaced = [
            {"run_key": run_id, **{k: v for k, v in row.items() if k != "id"}}
            for run_id, row in self.run_rows.items()
            if self.labels[run_id] is not None
        ]
        relabelled = [
            run_id
            for run_id, row in self.run_rows.items()
            if self.labels[run_id] is not None and self.labels[run_id] != row["labels"]
        ]
        if created:
            conn.execute(_INSERT_RUN, created)
        if replaced:
            conn.execute(_UPDATE_RUN, replaced)
        for chunk in _chunks(relabelled):
            conn.execute(_DROP_LABELS, {"ids": chunk})
        labels = [
            {"run_id": run_id, "name": name, "value": value}
            for run_id, row in self.run_rows.items()
            if self.labels[run_id] is None or run_id in relabelled
            for name, value in json.loads(row["labels"]).items()
        ]
        if labels:
            conn.execute(_INSERT_LABELS, labels)
        if self.event_rows:
            conn.execute(_INSERT_EVENTS, self.event_rows)
        # A wait put again keeps its place (the upsert replaces its values), unless it was dropped
        # in between; the last change wins.
        for chunk in _chunks(sorted(self.dropped)):
            conn.execute(_DROP_WAITS, {"ids": chunk})
        put = [row for row in self.waits.values() if row is not None]
        if put:
            conn.execute(upsert(conn, waits), put)
        self._store_leases(conn)

    def _store_leases(self, conn: sa.Connection) -> None:
        dropped = [run_id for run_id, now in self.leases.items() if now is None and run_id in self.leases_before]
        taken = [
            {"run_id": run_id, "owner": now[0], "until": now[1]}
            for run_id, now in self.leases.items()
            if now is not None and run_id not in self.leases_before
        ]
        changed = [
            {"leased_run": run_id, "owner": now[0], "until": now[1]}
            for run_id, now in self.leases.items()
            if now is not None and run_id in self.leases_before and self.leases_before[run_id] != now
        ]
        for chunk in _chunks(dropped):
            conn.execute(_DROP_LEASES, {"ids": chunk})
        if taken:
            conn.execute(_INSERT_LEASE, taken)
        if changed:
            conn.execute(_UPDATE_LEASE, changed)
        if self.releases:
            conn.execute(_RELEASE, self.releases)
