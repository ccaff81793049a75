"""The storage contract on SQL, synchronously: each method is one unit of work that the async
backend runs in a worker thread (``backend.py`` says why).

Everything a commit writes is serialised before its transaction starts, so a value that cannot be
stored refuses the commit without touching the database; the rest is one transaction.

A lost PostgreSQL connection: each operation is done once more on a new connection, and a commit
whose COMMIT got no answer first finds out whether it was stored (``recovery.py``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

import cattrs
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from vrooli_core.errors import DuplicateEventError, LeaseHeldError, NotFoundError, StorageError
from vrooli_core.model import Event, RoutineDef, Run, RunStatus, Wait, WaitKind
from vrooli_core.serialization import dumps, loads
from vrooli_core.storage.base import Commit, LeaseTerms, LoadedRun, StoredRoutine
from vrooli_sqlalchemy import migrate, recovery
from vrooli_sqlalchemy.database import Database
from vrooli_sqlalchemy.faults import CommitUnknown, translated
from vrooli_sqlalchemy.leases import LeaseOps, drop_lease, take_lease
from vrooli_sqlalchemy.tables import docs, events, metadata, routines, run_labels, runs, snapshots, waits
from vrooli_sqlalchemy.url import StoreURL

__all__ = ["CommitRows", "SyncStore", "check_sequence", "upsert"]

T = TypeVar("T")


class CommitRows(NamedTuple):
    """A commit's rows: its events, its run record (or ``None``) and the waits it puts."""

    events: list[dict[str, Any]]
    run: dict[str, Any] | None
    waits: list[dict[str, Any]]


class SyncStore(LeaseOps):
    """One open store. Thread-safe: every method takes its own connection."""

    def __init__(self, db: Database, converter: cattrs.Converter) -> None:
        self.db = db
        self.conv = converter
        self.display = db.url.display

    @classmethod
    def open(cls, url: StoreURL, converter: cattrs.Converter) -> SyncStore:
        """Connect, then check (and unless ``migrate=0``, upgrade) the schema."""
        with translated(url):
            db = Database(url)
        try:
            with translated(url):
                migrate.prepare(db)
        except BaseException:
            db.close()
            raise
        return cls(db, converter)

    def close(self) -> None:
        self.db.close()

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` with database failures reported as ``StorageError``, once more when its
        connection was lost (``recovery.py``)."""
        return recovery.call(self.db.url, fn, *args)

    # -- routines -----------------------------------------------------------------------------

    def put_routine(self, stored: StoredRoutine) -> None:
        r = stored.routine
        row = {
            "routine_id": r.id,
            "version": r.version,
            "content_hash": r.content_hash,
            "format": r.format,
            "path": stored.path,
            "source": stored.source,
            "routine": self._dumps(r, RoutineDef, f"routine {r.id!r}"),
        }
        try:
            with self.db.write() as conn:
                if not self._same_routine(conn, r):
                    conn.execute(sa.insert(routines), row)
        except sa.exc.IntegrityError:
            # Stored by another process between our check and insert: the check decides now.
            with self.db.read() as conn:
                self._same_routine(conn, r)

    def _same_routine(self, conn: sa.Connection, r: RoutineDef) -> bool:
        """Whether this version is stored already; raise if it is stored with other content."""
        key = (routines.c.routine_id == r.id) & (routines.c.version == r.version)
        stored = conn.execute(sa.select(routines.c.content_hash).where(key)).scalar()
        if stored is not None and stored != r.content_hash:
            raise StorageError(f"routine {r.id!r} version {r.version!r} is already stored with different content")
        return stored is not None

    def get_routine(self, routine_id: str, version: str) -> StoredRoutine:
        key = (routines.c.routine_id == routine_id) & (routines.c.version == version)
        with self.db.read() as conn:
            row = conn.execute(sa.select(routines.c.routine, routines.c.source, routines.c.path).where(key)).first()
        if row is None:
            raise NotFoundError(f"no routine {routine_id!r} version {version!r}")
        return StoredRoutine(loads(self.conv, row.routine, RoutineDef), row.source, row.path)

    def list_routines(self, routine_id: str | None = None) -> list[RoutineDef]:
        query = sa.select(routines.c.routine).order_by(routines.c.position)
        if routine_id is not None:
            query = query.where(routines.c.routine_id == routine_id)
        with self.db.read() as conn:
            return [loads(self.conv, text, RoutineDef) for text in conn.execute(query).scalars()]

    # -- commits ------------------------------------------------------------------------------

    def commit_rows(self, commit: Commit) -> CommitRows:
        """What ``commit`` writes, serialised (``StorageError`` for a value that cannot be stored)."""
        return CommitRows(
            [self._event_row(ev) for ev in commit.events],
            self._run_row(commit.run) if commit.run is not None else None,
            [self._wait_row(w) for w in commit.put_waits],
        )

    def commit(self, commit: Commit) -> None:
        run_id = commit.run_id
        event_rows, run_row, wait_rows = self.commit_rows(commit)
        try:
            with self.db.write() as conn:
                # Locks the run's row on PostgreSQL: commits to one run take turns.
                found = conn.execute(_LOCK_RUN, {"run_id": run_id}).first()
                if found is None and run_row is None:
                    raise NotFoundError(f"no run {run_id!r}")
                if event_rows:
                    last = None if found is None else conn.execute(_LAST_SEQ, {"run_id": run_id}).scalar()
                    check_sequence(commit, (last or 0) + 1)
                if commit.lease is not None:
                    terms = commit.lease
                    holder = take_lease(conn, run_id, terms.owner, terms.now, terms.until, extend=True)
                    if holder != terms.owner:
                        raise LeaseHeldError(run_id, holder)
                if commit.release is not None:
                    drop_lease(conn, run_id, commit.release)
                if run_row is not None:
                    _write_run(conn, run_row, None if found is None else found.labels)
                if event_rows:
                    conn.execute(_INSERT_EVENTS, event_rows)
                if commit.drop_waits:
                    conn.execute(_DROP_WAITS, {"ids": list(commit.drop_waits)})
                if wait_rows:
                    conn.execute(upsert(conn, waits), wait_rows)
        except sa.exc.IntegrityError as exc:
            # Only two inserts can collide: the run's row (another writer created the run first)
            # and an event (another writer appended this sequence number after our check).
            if _is_unique_violation(exc):
                first = f"event {commit.events[0].seq}" if commit.events else "the run"
                raise DuplicateEventError(f"run {run_id}: {first} is already recorded (by another writer)") from exc
            raise StorageError(f"run {run_id}: the commit was refused: {_reason(exc)}") from exc
        except CommitUnknown as unknown:
            if not recovery.commit_stored(self.db, commit, event_rows, unknown):
                raise unknown.error from None  # nothing of it was stored: call() makes it again

    def _event_row(self, ev: Event) -> dict[str, Any]:
        data = self.conv.unstructure(ev, Event)
        return {
            "run_id": ev.run_id,
            "seq": ev.seq,
            "at": ev.at,
            "type": data["type"],
            "data": self._json(data["data"], f"run {ev.run_id}: event {ev.seq} ({data['type']})"),
        }

    def _run_row(self, run: Run) -> dict[str, Any]:
        record = self._dumps(run, Run, f"run {run.id}: the run record")
        usage = run.usage
        return {
            "id": run.id,
            "routine_id": run.routine.id,
            "routine_version": run.routine.version,
            "status": run.status.value,
            "parent_run_id": run.parent_run_id,
            "created_at": run.created_at,
            "updated_at": run.updated_at,
            "steps": run.steps,
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "cost": usage.cost,
            "credits": usage.credits,
            "wall_time": usage.wall_time,
            "model_calls": usage.model_calls,
            "limits": self._dumps(run.limits, None, f"run {run.id}: limits"),
            # Sorted: the same labels are the same text, so an unchanged set is not rewritten.
            "labels": json.dumps(dict(run.labels), sort_keys=True, separators=(",", ":")),
            "record": record,
        }

    def _wait_row(self, wait: Wait) -> dict[str, Any]:
        spec = wait.spec
        return {
            "id": wait.id,
            "run_id": wait.run_id,
            "kind": spec.kind.value,
            "name": spec.name,
            "correlation": spec.correlation,
            "due": spec.due,
            "wait": self._dumps(wait, Wait, f"run {wait.run_id}: wait {wait.id}"),
        }

    # -- runs and events ----------------------------------------------------------------------

    def get_run(self, run_id: str) -> Run:
        with self.db.read() as conn:
            text = conn.execute(_GET_RUN, {"run_id": run_id}).scalar()
        if text is None:
            raise NotFoundError(f"no run {run_id!r}")
        run: Run = loads(self.conv, text, Run)
        return run

    def list_runs(
        self,
        status: Sequence[RunStatus] | None,
        routine_id: str | None,
        parent_run_id: str | None,
        labels: Mapping[str, str] | None,
        limit: int,
    ) -> list[Run]:
        if limit <= 0:
            return []
        query = sa.select(runs.c.record).order_by(runs.c.created_at.desc(), runs.c.position.desc()).limit(limit)
        if status is not None:
            query = query.where(runs.c.status.in_([RunStatus(s).value for s in status]))
        if routine_id is not None:
            query = query.where(runs.c.routine_id == routine_id)
        if parent_run_id is not None:
            query = query.where(runs.c.parent_run_id == parent_run_id)
        for name, value in (labels or {}).items():
            query = query.where(
                sa.exists().where(
                    run_labels.c.run_id == runs.c.id, run_labels.c.name == name, run_labels.c.value == value
                )
            )
        with self.db.read() as conn:
            return [loads(self.conv, text, Run) for text in conn.execute(query).scalars()]

    def read_events(self, run_id: str, after: int, limit: int | None) -> list[Event]:
        query = _READ_EVENTS if limit is None else _READ_EVENTS.limit(max(limit, 0))
        with self.db.read() as conn:
            rows = conn.execute(query, {"run_id": run_id, "after": after}).all()
            if not rows and conn.execute(_GET_RUN, {"run_id": run_id}).first() is None:
                raise NotFoundError(f"no run {run_id!r}")
        return self._events(run_id, rows)

    def load_run(self, run_id: str, lease: LeaseTerms | None) -> LoadedRun:
        """The run, its snapshot and the events after it, in one transaction (a write transaction
        that first takes the lease, with ``lease``)."""
        if lease is None:
            with self.db.read() as conn:
                return self.read_run(conn, run_id)
        with self.db.write() as conn:
            holder = take_lease(conn, run_id, lease.owner, lease.now, lease.until, extend=True)
            if holder != lease.owner:
                raise LeaseHeldError(run_id, holder)
            return self.read_run(conn, run_id)  # NotFoundError rolls the lease back

    def read_run(self, conn: sa.Connection, run_id: str) -> LoadedRun:
        found = conn.execute(_GET_RUN_AND_SNAPSHOT, {"run_id": run_id}).first()
        if found is None:
            raise NotFoundError(f"no run {run_id!r}")
        record, seq, state = found
        rows = conn.execute(_READ_EVENTS, {"run_id": run_id, "after": seq or 0}).all()
        return LoadedRun(
            loads(self.conv, record, Run),
            None if seq is None else (seq, json.loads(state)),
            self._events(run_id, rows),
        )

    def _events(self, run_id: str, rows: Sequence[Any]) -> list[Event]:
        structure = self.conv.structure
        return [
            structure({"run_id": run_id, "seq": seq, "at": at, "type": kind, "data": json.loads(data)}, Event)
            for seq, at, kind, data in rows
        ]

    def save_snapshot(self, run_id: str, seq: int, state: Mapping[str, Any]) -> None:
        row = {"run_id": run_id, "seq": seq, "state": self._json(state, f"run {run_id}: snapshot {seq}")}
        with self.db.write() as conn:
            conn.execute(upsert(conn, snapshots), row)

    def load_snapshot(self, run_id: str) -> tuple[int, Mapping[str, Any]] | None:
        with self.db.read() as conn:
            row = conn.execute(_GET_SNAPSHOT, {"run_id": run_id}).first()
        return None if row is None else (row.seq, json.loads(row.state))

    # -- waits --------------------------------------------------------------------------------

    def get_wait(self, wait_id: str) -> Wait:
        with self.db.read() as conn:
            text = conn.execute(_GET_WAIT, {"wait_id": wait_id}).scalar()
        if text is None:
            raise NotFoundError(f"no open task or wait {wait_id!r}")
        wait: Wait = loads(self.conv, text, Wait)
        return wait

    def find_waits(
        self,
        kinds: Sequence[WaitKind] | None,
        name: str | None,
        correlation: str | None,
        run_id: str | None,
        due_before: float | None,
        limit: int | None,
    ) -> list[Wait]:
        given = {
            "kinds": None if kinds is None else [WaitKind(k).value for k in kinds],
            "name": name,
            "correlation": correlation,
            "run_id": run_id,
            "due": due_before,
            "limit": None if limit is None else max(limit, 0),
        }
        params = {key: value for key, value in given.items() if value is not None}
        query = _find_waits_query(frozenset(params))
        with self.db.read() as conn:
            return [loads(self.conv, text, Wait) for text in conn.execute(query, params).scalars()]

    # -- documents ----------------------------------------------------------------------------

    def put_doc(self, collection: str, doc_id: str, data: Mapping[str, Any]) -> None:
        row = {
            "collection": collection,
            "id": doc_id,
            "data": self._json(dict(data), f"{collection} document {doc_id!r}"),
        }
        with self.db.write() as conn:
            conn.execute(upsert(conn, docs), row)

    def get_doc(self, collection: str, doc_id: str) -> Mapping[str, Any]:
        with self.db.read() as conn:
            text = conn.execute(
                sa.select(docs.c.data).where(docs.c.collection == collection, docs.c.id == doc_id)
            ).scalar()
        if text is None:
            raise NotFoundError(f"no {collection} document {doc_id!r}")
        data: Mapping[str, Any] = json.loads(text)
        return data

    def list_docs(self, collection: str) -> list[tuple[str, Mapping[str, Any]]]:
        query = sa.select(docs.c.id, docs.c.data).where(docs.c.collection == collection).order_by(docs.c.position)
        with self.db.read() as conn:
            return [(doc_id, json.loads(text)) for doc_id, text in conn.execute(query)]

    def delete_doc(self, collection: str, doc_id: str) -> None:
        with self.db.write() as conn:
            conn.execute(sa.delete(docs).where(docs.c.collection == collection, docs.c.id == doc_id))

    # -- serialising --------------------------------------------------------------------------

    def _dumps(self, obj: Any, cls: type | None, what: str) -> str:
        try:
            return dumps(self.conv, obj, cls)
        except (TypeError, ValueError, RecursionError) as exc:
            raise StorageError(f"{what} cannot be stored as JSON: {exc}") from exc

    @staticmethod
    def _json(data: Any, what: str) -> str:
        try:
            return json.dumps(data, separators=(",", ":"), default=_sets_as_lists)
        except (TypeError, ValueError, RecursionError) as exc:
            raise StorageError(f"{what} cannot be stored as JSON: {exc}") from exc


def check_sequence(commit: Commit, expected: int) -> None:
    first = commit.events[0].seq
    if first < expected:
        raise DuplicateEventError(f"run {commit.run_id}: event {first} is already recorded")
    for offset, ev in enumerate(commit.events):
        if ev.seq != expected + offset or ev.run_id != commit.run_id:
            raise StorageError(
                f"run {commit.run_id}: event {ev.run_id}/{ev.seq} out of order (expected {commit.run_id}/{expected + offset})"
            )


def _write_run(conn: sa.Connection, row: dict[str, Any], stored_labels: str | None) -> None:
    """Insert or replace the run's row; rewrite its labels only when they changed."""
    run_id = row["id"]
    if stored_labels is None:
        conn.execute(_INSERT_RUN, row)
    else:
        conn.execute(_UPDATE_RUN, {"run_key": run_id, **{k: v for k, v in row.items() if k != "id"}})
        if stored_labels == row["labels"]:
            return
        conn.execute(_DROP_LABELS, {"run_id": run_id})
    labels = json.loads(row["labels"])
    if labels:
        conn.execute(_INSERT_LABELS, [{"run_id": run_id, "name": k, "value": v} for k, v in labels.items()])


# The frequent statements, built once: on SQLite, building a statement costs more than running it.
_LOCK_RUN = sa.select(runs.c.labels).where(runs.c.id == sa.bindparam("run_id")).with_for_update()
_LAST_SEQ = sa.select(sa.func.max(events.c.seq)).where(events.c.run_id == sa.bindparam("run_id"))
_INSERT_RUN = sa.insert(runs)
_UPDATE_RUN = sa.update(runs).where(runs.c.id == sa.bindparam("run_key"))
_INSERT_EVENTS = sa.insert(events)
_DROP_WAITS = sa.delete(waits).where(waits.c.id.in_(sa.bindparam("ids", expanding=True)))
_DROP_LABELS = sa.delete(run_labels).where(run_labels.c.run_id == sa.bindparam("run_id"))
_INSERT_LABELS = sa.insert(run_labels)
_GET_RUN = sa.select(runs.c.record).where(runs.c.id == sa.bindparam("run_id"))
_GET_RUN_AND_SNAPSHOT = (
    sa.select(runs.c.record, snapshots.c.seq, snapshots.c.state)
    .select_from(runs.outerjoin(snapshots, snapshots.c.run_id == runs.c.id))
    .where(runs.c.id == sa.bindparam("run_id"))
)
_GET_SNAPSHOT = sa.select(snapshots.c.seq, snapshots.c.state).where(snapshots.c.run_id == sa.bindparam("run_id"))
_GET_WAIT = sa.select(waits.c.wait).where(waits.c.id == sa.bindparam("wait_id"))
_READ_EVENTS = (
    sa.select(events.c.seq, events.c.at, events.c.type, events.c.data)
    .where(events.c.run_id == sa.bindparam("run_id"), events.c.seq > sa.bindparam("after"))
    .order_by(events.c.seq)
)


@functools.cache
def _find_waits_query(given: frozenset[str]) -> sa.Select[Any]:
    """``find_waits``'s statement for the filters ``given``, built once (building costs more than
    running it)."""
    query = sa.select(waits.c.wait)
    if "kinds" in given:
        query = query.where(waits.c.kind.in_(sa.bindparam("kinds", expanding=True)))
    for key, column in (("name", waits.c.name), ("correlation", waits.c.correlation), ("run_id", waits.c.run_id)):
        if key in given:
            query = query.where(column == sa.bindparam(key))
    if "due" in given:
        query = query.where(waits.c.due <= sa.bindparam("due")).order_by(waits.c.due, waits.c.position)
    else:
        query = query.order_by(waits.c.position)
    if "limit" in given:
        query = query.limit(sa.bindparam("limit", type_=sa.Integer))
    return query


_UPSERT_KEYS = {waits.name: ["id"], snapshots.name: ["run_id"], docs.name: ["collection", "id"]}


def upsert(conn: sa.Connection, table: sa.Table) -> Any:
    """INSERT … ON CONFLICT (key) DO UPDATE: the row keeps its position, its values are replaced."""
    return _upsert_statement(conn.dialect.name, table.name)


@functools.cache
def _upsert_statement(dialect: str, table_name: str) -> Any:
    table = metadata.tables[table_name]
    keys = _UPSERT_KEYS[table_name]
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    columns = {c.name: insert.excluded[c.name] for c in table.columns if c.name not in keys and c.name != "position"}
    return insert.on_conflict_do_update(index_elements=keys, set_=columns)


def _sets_as_lists(obj: Any) -> Any:
    # As the kernel's serialiser: variables may hold sets written by tools; JSON has lists.
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable: {obj!r}")


def _is_unique_violation(exc: sa.exc.IntegrityError) -> bool:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate is not None:
        return bool(sqlstate == "23505")  # PostgreSQL unique_violation
    return "UNIQUE constraint failed" in str(exc.orig)


def _reason(exc: sa.exc.DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
