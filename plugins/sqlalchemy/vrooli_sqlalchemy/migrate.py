"""Schema migrations: alembic, run from Python (the scripts ship in ``vrooli_sqlalchemy/migrations``;
no ``alembic.ini`` is needed).

``upgrade(url)``, ``downgrade(url, revision)`` and ``current(url)`` work on a store URL. Opening a
store calls :func:`prepare`: a database at the code's revision opens at once; an older one (or an
empty one) is upgraded to head unless the URL says ``migrate=0``; one at a revision this code does
not know (written by a newer vrooli-sqlalchemy) is refused with :class:`SchemaVersionError`.

Migrations run in one transaction (on SQLite too: DDL is transactional there once the driver stops
managing transactions itself, see ``database.py``), under a lock so that two processes opening the
same new database do not both migrate it: SQLite's write lock, PostgreSQL's advisory lock.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING

from vrooli_sqlalchemy.errors import SchemaVersionError
from vrooli_sqlalchemy.url import StoreURL, parse_url

if TYPE_CHECKING:
    import sqlalchemy as sa
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from vrooli_sqlalchemy.database import Database

__all__ = ["current", "downgrade", "head", "prepare", "upgrade"]

#: PostgreSQL advisory lock held while migrating (any number, the same in every process).
_LOCK_KEY = 0x7672_6F6F_6C69  # "vrooli"


def upgrade(url: str | StoreURL, revision: str = "head") -> None:
    """Migrate the store at ``url`` up to ``revision`` (default: the newest this code has)."""
    from alembic import command

    with _migrating(url) as (conn, display):
        _refuse_unknown(conn, display)
        command.upgrade(_config(conn), revision)


def downgrade(url: str | StoreURL, revision: str) -> None:
    """Migrate the store at ``url`` down to ``revision`` (``"base"``: drop every table)."""
    from alembic import command

    with _migrating(url) as (conn, display):
        _refuse_unknown(conn, display)
        command.downgrade(_config(conn), revision)


def current(url: str | StoreURL) -> str | None:
    """The store's revision, ``None`` for a database without vrooli tables."""
    from vrooli_sqlalchemy.database import Database, translated

    parsed = _parsed(url)
    with translated(parsed.display):
        db = Database(parsed)
        try:
            with db.read() as conn:
                heads = _heads(conn)
        finally:
            db.close()
    return heads[0] if heads else None


def head() -> str:
    """The newest revision this code has."""
    revision = _script().get_current_head()
    assert revision is not None
    return revision


def prepare(db: Database) -> None:
    """Make ``db`` usable by this code, or refuse it (see the module docstring)."""
    with db.read() as conn:
        heads = _heads(conn)
    if heads == (head(),):
        return
    _refuse_unknown_heads(heads, db.url.display)
    if not db.url.migrate:
        found = heads[0] if heads else "no schema (an empty database)"
        raise SchemaVersionError(
            f"{db.url.display}: the database has {found}; this vrooli-sqlalchemy needs revision {head()} and"
            " the URL turns migrations off (migrate=0): upgrade it with vrooli_sqlalchemy.migrate.upgrade(url)",
            found=heads,
            expected=head(),
        )
    from alembic import command

    with _locked(db) as conn:
        _refuse_unknown(conn, db.url.display)  # another process may have migrated meanwhile
        command.upgrade(_config(conn), "head")


# -- internals ------------------------------------------------------------------------------------


def _parsed(url: str | StoreURL) -> StoreURL:
    return url if isinstance(url, StoreURL) else parse_url(url)


@functools.cache
def _script() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config(None))


def _config(conn: sa.Connection | None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "vrooli_sqlalchemy:migrations")
    config.attributes["connection"] = conn
    return config


def _heads(conn: sa.Connection) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    from vrooli_sqlalchemy.tables import VERSION_TABLE

    return tuple(MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_heads())


def _refuse_unknown(conn: sa.Connection, display: str) -> None:
    _refuse_unknown_heads(_heads(conn), display)


def _refuse_unknown_heads(heads: tuple[str, ...], display: str) -> None:
    known = {script.revision for script in _script().walk_revisions()}
    unknown = [h for h in heads if h not in known]
    if unknown:
        from vrooli_sqlalchemy import __version__

        raise SchemaVersionError(
            f"{display}: the database schema is at revision {', '.join(unknown)}, which vrooli-sqlalchemy"
            f" {__version__} does not know (its newest is {head()}): it was written by a newer"
            " vrooli-sqlalchemy; install that version to use this database",
            found=heads,
            expected=head(),
        )


@contextlib.contextmanager
def _migrating(url: str | StoreURL) -> Iterator[tuple[sa.Connection, str]]:
    from vrooli_sqlalchemy.database import Database, translated

    parsed = _parsed(url)
    with translated(parsed.display):
        db = Database(parsed)
        try:
            with _locked(db) as conn:
                yield conn, parsed.display
        finally:
            db.close()


@contextlib.contextmanager
def _locked(db: Database) -> Iterator[sa.Connection]:
    """A write transaction that no other migration runs beside (SQLite: BEGIN IMMEDIATE already
    holds the database's write lock)."""
    with db.write() as conn:
        if db.dialect == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")
            if db.url.schema is not None:
                conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{db.url.schema}"')
        yield conn
