"""Faults: what a failed database call means, as a typed error naming the store (what to do after
a lost connection is ``recovery.py``).

- SQLite says why by its error code: ``SQLITE_BUSY`` (another connection kept the write lock past
  ``busy_timeout``) is :class:`DatabaseLockedError`, naming the processes that hold the lock when
  Linux's ``/proc/locks`` says; ``SQLITE_CORRUPT`` and ``SQLITE_NOTADB`` are
  :class:`DatabaseFileError`.
- PostgreSQL: a connection SQLAlchemy found broken (``connection_invalidated``) is *lost*. The
  server rolls back the transaction of a connection that goes away, so nothing of the call was
  written, except when it broke while COMMIT was under way: then :class:`CommitUnknown`, the
  transaction may or may not be stored, and only reading the database again can tell.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from vrooli_core.errors import StorageError, VrooliError
from vrooli_sqlalchemy.errors import ConnectionLostError, DatabaseFileError, DatabaseLockedError
from vrooli_sqlalchemy.url import StoreURL

__all__ = [
    "BUSY",
    "DAMAGED",
    "CommitUnknown",
    "damaged",
    "lock_holders",
    "locked",
    "lost",
    "reason",
    "sqlite_code",
    "translated",
    "unreachable",
]

#: SQLite result codes: SQLITE_BUSY; SQLITE_CORRUPT and SQLITE_NOTADB.
BUSY, DAMAGED = 5, (11, 26)
#: The byte of the ``-shm`` file whose lock is the WAL write lock (SQLite's WAL_WRITE_LOCK).
_WAL_WRITE_BYTE = 120
#: SQLite's lock bytes in a database file in rollback-journal mode (PENDING, RESERVED, SHARED).
_ROLLBACK_LOCKS = range(0x4000_0000, 0x4000_0200)


class CommitUnknown(Exception):
    """The connection broke while COMMIT was under way: the transaction may or may not be stored."""

    def __init__(self, error: sa.exc.DBAPIError) -> None:
        super().__init__(str(error))
        self.error = error


def lost(exc: BaseException) -> bool:
    """Whether ``exc`` says the connection to the server broke (nothing of the call was written,
    unless it is a ``CommitUnknown``)."""
    if isinstance(exc, CommitUnknown):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated and not isinstance(exc.orig, sqlite3.Error)


def unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure to connect to a PostgreSQL server (no statement was sent)."""
    return (
        isinstance(exc, sa.exc.OperationalError) and exc.statement is None and not isinstance(exc.orig, sqlite3.Error)
    )


def reason(exc: BaseException) -> str:
    """The first line of what the database said."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextlib.contextmanager
def translated(url: StoreURL) -> Iterator[None]:
    """Database and migration failures inside the block become typed ``StorageError`` naming the store."""
    from alembic.util import CommandError

    try:
        yield
    except VrooliError:
        raise
    except CommitUnknown as exc:
        raise ConnectionLostError(
            f"{url.display}: the connection to the server was lost while a commit was under way: {reason(exc.error)}",
            committed=None,
        ) from exc.error
    except sa.exc.DBAPIError as exc:
        raise typed(url, exc) from exc
    except (sa.exc.SQLAlchemyError, CommandError) as exc:
        raise StorageError(f"{url.display}: {exc}") from exc


def typed(url: StoreURL, exc: sa.exc.DBAPIError) -> StorageError:
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        code = sqlite_code(orig)
        if code == BUSY:
            return locked(url)
        if code in DAMAGED:
            return damaged(url, str(orig))
    elif exc.connection_invalidated:
        return ConnectionLostError(f"{url.display}: the connection to the server was lost: {reason(exc)}")
    return StorageError(f"{url.display}: {reason(exc)}")


def sqlite_code(exc: sqlite3.Error) -> int:
    """SQLite's primary result code of ``exc`` (``SQLITE_BUSY`` is 5, …)."""
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF


def damaged(url: StoreURL, what: str, *, unchanged: bool = False) -> DatabaseFileError:
    assert url.path is not None
    return DatabaseFileError(
        f"{url.display}: SQLite finds {url.path} damaged ({what})"
        + ("; the file was not changed" if unchanged else "")
        + ": restore it from a backup, or move it away to start a new store",
        path=url.path,
        reason="damaged",
    )


def locked(url: StoreURL) -> DatabaseLockedError:
    """The error for a write lock held past ``busy_timeout`` (nothing of the call was written)."""
    assert url.path is not None
    holders = lock_holders(url.path)
    if holders:
        names = ", ".join(_process(pid) for pid in holders)
        who = f" (held by {names})"
    else:
        who = ""
    return DatabaseLockedError(
        f"{url.display}: the database is locked: another connection has held its write lock for longer than"
        f" busy_timeout ({url.busy_timeout} ms){who}; nothing was written. Try again once it lets go"
        " (or wait longer: ?busy_timeout=MS)",
        path=url.path,
        holders=holders,
    )


def lock_holders(path: Path) -> tuple[int, ...]:
    """The processes holding a write lock on the SQLite database at ``path``, as Linux's
    ``/proc/locks`` lists them (SQLite's locks are POSIX record locks): in WAL mode the write lock
    byte of the ``-shm`` file, in rollback mode the lock bytes of the file itself. Empty elsewhere."""
    wanted: dict[str, range] = {}
    for file, spans in ((Path(f"{path}-shm"), range(_WAL_WRITE_BYTE, _WAL_WRITE_BYTE + 1)), (path, _ROLLBACK_LOCKS)):
        try:
            st = file.stat()
        except OSError:
            continue
        wanted[f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"] = spans
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as table:
            lines = table.read().splitlines()
    except OSError:
        return ()
    holders: list[int] = []
    for line in lines:
        # "1: POSIX  ADVISORY  WRITE 6280 fe:00:2158833 120 120"; waiters ("1: -> POSIX …") hold nothing.
        fields = line.split()
        if len(fields) < 8 or fields[1] == "->" or fields[3] != "WRITE" or fields[5] not in wanted:
            continue
        start, end = int(fields[6]), (int(fields[7]) if fields[7].isdigit() else 1 << 62)
        span = wanted[fields[5]]
        if start <= span[-1] and end >= span[0] and fields[4].isdigit() and int(fields[4]) not in holders:
            holders.append(int(fields[4]))
    return tuple(holders)


def _process(pid: int) -> str:
    if pid == os.getpid():
        return f"this process (pid {pid}), through another connection"
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return f"process {pid}"
    return f"process {pid} ({name})"
