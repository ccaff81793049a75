"""After a lost PostgreSQL connection: doing an operation once more, and finding out whether a
commit whose COMMIT got no answer was stored.

An operation is done once more, on a new connection, when its connection broke: that is safe
because nothing of it was written (the server rolls back the transaction of a connection that goes
away) or because it was written and doing it again writes the same. Every operation of the store
is idempotent that way except two, which first find out whether their lost COMMIT was stored:
``commit`` (by reading its events back, :func:`commit_stored`) and ``claim_runs`` (by reading the
leases it would have written, ``leases.py``). A second loss, or a server that cannot be reached, is
:class:`ConnectionLostError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa

from vrooli_core.errors import DuplicateEventError
from vrooli_core.storage.base import Commit
from vrooli_sqlalchemy.database import Database
from vrooli_sqlalchemy.errors import ConnectionLostError
from vrooli_sqlalchemy.faults import CommitUnknown, lost, reason, translated, unreachable
from vrooli_sqlalchemy.tables import events
from vrooli_sqlalchemy.url import StoreURL

__all__ = ["call", "commit_stored"]

T = TypeVar("T")

_EVENTS_BETWEEN = (
    sa.select(events.c.seq, events.c.at, events.c.type, events.c.data)
    .where(events.c.run_id == sa.bindparam("run_id"), events.c.seq.between(sa.bindparam("first"), sa.bindparam("last")))
    .order_by(events.c.seq)
)
_LAST_SEQ = sa.select(sa.func.max(events.c.seq)).where(events.c.run_id == sa.bindparam("run_id"))


def call(url: StoreURL, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)``, once more if its connection was lost; failures as typed ``StorageError``."""
    with translated(url):
        again = True
        while True:
            try:
                return fn(*args)
            except (sa.exc.DBAPIError, CommitUnknown) as exc:
                if again and lost(exc):
                    again = False
                    continue
                if not (lost(exc) or unreachable(exc)):
                    raise
                error = exc.error if isinstance(exc, CommitUnknown) else exc
                raise ConnectionLostError(
                    f"{url.display}: the connection to the server was lost and could not be made again: {reason(error)}",
                    committed=None if isinstance(exc, CommitUnknown) else False,
                ) from error


def commit_stored(db: Database, commit: Commit, event_rows: list[dict[str, Any]], unknown: CommitUnknown) -> bool:
    """Whether ``commit``, whose COMMIT got no answer, was stored, read on a new connection. Its
    events tell: there as sent (stored), absent (not), or others in their place (another writer
    appended those numbers meanwhile: ``DuplicateEventError``, as if it had lost the race). A commit
    without events is reported stored only when the log went past its run record's ``last_seq``
    (writing that record again would put an older one back); otherwise it is written again."""
    run_id = commit.run_id
    try:
        with db.read() as conn:
            if event_rows:
                bounds = {"run_id": run_id, "first": event_rows[0]["seq"], "last": event_rows[-1]["seq"]}
                found = [tuple(row) for row in conn.execute(_EVENTS_BETWEEN, bounds)]
            else:
                last = conn.execute(_LAST_SEQ, {"run_id": run_id}).scalar()
    except sa.exc.DBAPIError as exc:
        raise ConnectionLostError(
            f"{db.url.display}: run {run_id}: the connection to the server was lost while the commit was under way,"
            f" and whether it was stored cannot be checked ({reason(exc)}): the run is read again from storage"
            " when it is next used, which shows either way",
            committed=None,
        ) from unknown.error
    if not event_rows:
        return commit.run is not None and last is not None and last > commit.run.last_seq
    if found == [(r["seq"], r["at"], r["type"], r["data"]) for r in event_rows]:
        return True
    if not found:
        return False
    raise DuplicateEventError(f"run {run_id}: event {event_rows[0]['seq']} is already recorded (by another writer)")
