"""Errors of the SQL store (all of them are :class:`~vrooli_core.errors.StorageError`)."""

from __future__ import annotations

from vrooli_core.errors import StorageError

__all__ = ["SchemaVersionError"]


class SchemaVersionError(StorageError):
    """The database's schema is not the one this code works with: it was written by a newer
    vrooli-sqlalchemy (a revision this code does not know), or it is older and migrations are off."""

    def __init__(self, message: str, *, found: tuple[str, ...], expected: str) -> None:
        super().__init__(message)
        self.found = found
        self.expected = expected
