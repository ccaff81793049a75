"""vrooli-sqlalchemy: durable vrooli storage on SQLite and PostgreSQL, schema managed by alembic.

Importing this package or its plugin module (as ``vrooli --help`` does through entry points) imports
nothing else: the backend is imported when first asked for, SQLAlchemy and alembic when a store opens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vrooli_sqlalchemy.backend import SQLStorage
    from vrooli_sqlalchemy.errors import (
        ConnectionLostError,
        DatabaseFileError,
        DatabaseLockedError,
        SchemaMismatchError,
        SchemaVersionError,
    )

__version__ = "0.1.0"
__all__ = [
    "ConnectionLostError",
    "DatabaseFileError",
    "DatabaseLockedError",
    "SQLStorage",
    "SchemaMismatchError",
    "SchemaVersionError",
]


def __getattr__(name: str) -> Any:
    if name == "SQLStorage":
        from vrooli_sqlalchemy.backend import SQLStorage

        return SQLStorage
    if name in __all__:
        from vrooli_sqlalchemy import errors

        return getattr(errors, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
