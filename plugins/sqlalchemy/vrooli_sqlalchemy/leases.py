"""Leases: which engine moves a run when several share the store (``acquire_lease``, ``release_lease``,
``claim_runs`` of the storage contract), synchronously, like ``store.py``.

Taking a lease is "insert it, or else take over the row if its lease ended", with the row locked
while deciding (``SELECT … FOR UPDATE`` on PostgreSQL; a SQLite write transaction holds the whole
database). ``claim_runs`` picks candidates with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
concurrent claimers pass each other's candidates by, and takes each one's lease the same way: two
callers never get the same run.

A claim whose COMMIT got no answer (a lost PostgreSQL connection) returns the runs that carry its
very lease (owner and end), read on a new connection: those it took if it was stored, none if not.
The other operations can simply be done again (``store.py``).
"""

from __future__ import annotations

import functools

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from vrooli_core.errors import StorageError
from vrooli_core.model import RunStatus, WaitKind
from vrooli_sqlalchemy.database import Database
from vrooli_sqlalchemy.faults import CommitUnknown
from vrooli_sqlalchemy.tables import leases, runs, waits

__all__ = ["LeaseOps", "drop_lease", "take_lease"]

_HELD = sa.select(leases.c.owner, leases.c.until).where(leases.c.run_id == sa.bindparam("run_id")).with_for_update()
_TAKE = sa.update(leases).where(leases.c.run_id == sa.bindparam("leased_run"))
_CLAIMED = sa.select(leases.c.run_id).where(
    leases.c.owner == sa.bindparam("owner"), leases.c.until == sa.bindparam("until")
)
_RELEASE = sa.delete(leases).where(leases.c.run_id == sa.bindparam("run_id"), leases.c.owner == sa.bindparam("owner"))


class LeaseOps:
    db: Database

    def acquire_lease(self, run_id: str, owner: str, now: float, until: float) -> str | None:
        with self.db.write() as conn:
            held = take_lease(conn, run_id, owner, now, until, extend=True)
        return None if held == owner else held

    def release_lease(self, run_id: str, owner: str) -> None:
        with self.db.write() as conn:
            drop_lease(conn, run_id, owner)

    def claim_runs(self, owner: str, now: float, until: float, due_before: float, limit: int) -> list[str]:
        if limit <= 0:
            return []
        timer_due = sa.exists().where(
            waits.c.run_id == runs.c.id, waits.c.kind == WaitKind.TIMER.value, waits.c.due <= due_before
        )
        leased = sa.exists().where(leases.c.run_id == runs.c.id, leases.c.until > now)
        query = (
            sa.select(runs.c.id)
            .where(
                (runs.c.status == RunStatus.RUNNING.value) | ((runs.c.status == RunStatus.WAITING.value) & timer_due),
                ~leased,
            )
            .order_by(runs.c.created_at, runs.c.position)
            .limit(limit)
            .with_for_update(of=runs, skip_locked=True)
        )
        try:
            with self.db.write() as conn:
                candidates = list(conn.execute(query).scalars())
                return [
                    run_id for run_id in candidates if take_lease(conn, run_id, owner, now, until, extend=False) == owner
                ]
        except CommitUnknown:
            with self.db.read() as conn:
                return list(conn.execute(_CLAIMED, {"owner": owner, "until": until}).scalars())


def take_lease(conn: sa.Connection, run_id: str, owner: str, now: float, until: float, *, extend: bool) -> str:
    """Give ``owner`` the lease on ``run_id`` if nobody holds it, it ended, or (``extend``) ``owner``
    holds it; return who holds it afterwards."""
    for _ in range(3):  # a lease released between the insert and the select: insert again
        row = {"run_id": run_id, "owner": owner, "until": until}
        inserted = conn.execute(_insert_if_absent(conn.dialect.name), row).rowcount
        if inserted:
            return owner
        held = conn.execute(_HELD, {"run_id": run_id}).first()
        if held is None:
            continue
        if held.until <= now or (extend and held.owner == owner):
            conn.execute(_TAKE, {"leased_run": run_id, "owner": owner, "until": until})
            return owner
        return str(held.owner)
    raise StorageError(f"the lease on run {run_id} changed hands three times while it was being taken")


def drop_lease(conn: sa.Connection, run_id: str, owner: str) -> None:
    conn.execute(_RELEASE, {"run_id": run_id, "owner": owner})


@functools.cache
def _insert_if_absent(dialect: str) -> sa.Insert:
    insert = postgresql.insert(leases) if dialect == "postgresql" else sqlite.insert(leases)
    # rowcount of an INSERT is kept only on request: it says whether the row went in.
    return insert.on_conflict_do_nothing(index_elements=["run_id"]).execution_options(preserve_rowcount=True)
