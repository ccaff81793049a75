"""Errors of the SQL store (all of them are :class:`~vrooli_core.errors.StorageError`).

The README's "Bad input and faults" table says, for each, what happened and how to go on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from vrooli_core.errors import StorageError

__all__ = [
    "ConnectionLostError",
    "DatabaseFileError",
    "DatabaseLockedError",
    "SchemaMismatchError",
    "SchemaVersionError",
]


class SchemaVersionError(StorageError):
    """The database's schema is not the one this code works with: it was written by a newer
    vrooli-sqlalchemy (a revision this code does not know), or it is older and migrations are off."""

    def __init__(self, message: str, *, found: tuple[str, ...], expected: str) -> None:
        super().__init__(message)
        self.found = found
        self.expected = expected


class SchemaMismatchError(StorageError):
    """The database has vrooli tables that the migrations did not make: tables without the version
    table, or a table missing or with other columns than its revision has. Nothing was changed."""


class DatabaseFileError(StorageError):
    """The SQLite file cannot be a store, and was not changed. ``reason``: ``not_sqlite`` (another
    kind of file), ``damaged`` (SQLite says it is malformed), ``foreign`` (another application's
    database), ``unusable`` (a folder, unreadable)."""

    def __init__(
        self, message: str, *, path: Path, reason: Literal["not_sqlite", "damaged", "foreign", "unusable"]
    ) -> None:
        super().__init__(message)
        self.path = path
        self.reason = reason


class DatabaseLockedError(StorageError):
    """Another connection held the SQLite file's write lock for longer than ``busy_timeout``; the
    operation wrote nothing. ``holders``: the processes holding the lock, when the system says
    (Linux), else empty."""

    def __init__(self, message: str, *, path: Path, holders: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.path = path
        self.holders = holders


class ConnectionLostError(StorageError):
    """The connection to the PostgreSQL server broke and the operation could not be completed on a
    new one (tried once). ``committed``: ``False`` when nothing of it was written, ``None`` when a
    commit was sent and whether it was stored could not be checked (either way, an engine that
    uses the run again reloads it from storage, so nothing is lost or recorded twice)."""

    def __init__(self, message: str, *, committed: bool | None = False) -> None:
        super().__init__(message)
        self.committed = committed
