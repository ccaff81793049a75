"""The vrooli-sqlalchemy plugin: registers the SQL storage backend (``sqlite://``, ``postgresql://``)."""

from __future__ import annotations

from collections.abc import Iterable

from vrooli_core.plugins import hookimpl


@hookimpl
def vrooli_register_storage_backends() -> Iterable[type]:
    from vrooli_sqlalchemy.backend import SQLStorage

    return [SQLStorage]
