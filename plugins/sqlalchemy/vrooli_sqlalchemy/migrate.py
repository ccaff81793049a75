"""Schema migrations: alembic, run from Python (the scripts ship in ``vrooli_sqlalchemy/migrations``;
no ``alembic.ini`` is needed).

``upgrade(url)``, ``downgrade(url, revision)`` and ``current(url)`` work on a store URL. Opening a
store calls :func:`prepare`: a database at the code's revision opens at once; an older one (or an
empty one) is upgraded to head unless the URL says ``migrate=0``; one at a revision this code does
not know (written by a newer vrooli-sqlalchemy) is refused with :class:`SchemaVersionError`.

Before that, :func:`prepare` looks at what the database holds: vrooli tables without the version
table, or (at the code's revision) tables or columns that are not those of the revision, are
refused with :class:`SchemaMismatchError`; a SQLite file that holds another application's tables
and no vrooli ones is refused with :class:`DatabaseFileError` (opening it would switch the whole
file to WAL mode). A PostgreSQL database or schema with other tables gets the vrooli tables beside
them, as alembic and Camunda do. :func:`upgrade` (``vrooli db upgrade``) adds them to a foreign
SQLite file too: asked for by name, it is not an accident.

Migrations run in one transaction (on SQLite too: DDL is transactional there once the driver stops
managing transactions itself, see ``database.py``), under a lock so that two processes opening the
same new database do not both migrate it: SQLite's write lock, PostgreSQL's advisory lock.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING

from vrooli_sqlalchemy.errors import DatabaseFileError, SchemaMismatchError, SchemaVersionError
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
        if not _refuse_unknown(conn, display):
            _refuse_unversioned(_columns(conn), display)
        command.upgrade(_config(conn), revision)


def downgrade(url: str | StoreURL, revision: str) -> None:
    """Migrate the store at ``url`` down to ``revision`` (``"base"``: drop every table)."""
    from alembic import command

    with _migrating(url) as (conn, display):
        _refuse_unknown(conn, display)
        command.downgrade(_config(conn), revision)


def current(url: str | StoreURL) -> str | None:
    """The store's revision, ``None`` for a database without vrooli tables."""
    from vrooli_sqlalchemy.database import Database
    from vrooli_sqlalchemy.faults import translated
    from vrooli_sqlalchemy.tables import VERSION_TABLE

    parsed = _parsed(url)
    with translated(parsed):
        db = Database(parsed)
        if db.found_tables is not None and VERSION_TABLE not in db.found_tables:
            db.close()
            return None  # not a store (yet): looked at, and not switched to WAL mode
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
    display = db.url.display
    if db.found_tables is not None:
        _refuse_foreign(db)  # before the first connection switches the file to WAL
    with db.read() as conn:
        heads = _heads(conn)
        if heads == (head(),):
            _refuse_mismatch(_columns(conn), display)
            return
        if not heads:
            _refuse_unversioned(_columns(conn), display)
    _refuse_unknown_heads(heads, display)
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
        if not _refuse_unknown(conn, display):  # another process may have migrated meanwhile
            _refuse_unversioned(_columns(conn), display)
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


def _refuse_unknown(conn: sa.Connection, display: str) -> tuple[str, ...]:
    heads = _heads(conn)
    _refuse_unknown_heads(heads, display)
    return heads


def _columns(conn: sa.Connection) -> dict[str, set[str]]:
    """The columns of the vrooli tables the connection sees (where unqualified names lead)."""
    from vrooli_sqlalchemy.tables import metadata

    names = sorted(metadata.tables)
    if conn.dialect.name == "sqlite":
        query = (
            "SELECT m.name, c.name FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS c"
            " WHERE m.type = 'table' AND m.name IN ({})".format(", ".join("?" * len(names)))
        )
        rows = conn.exec_driver_sql(query, tuple(names)).all()
    else:
        query = (
            "SELECT c.relname, a.attname FROM pg_class AS c JOIN pg_attribute AS a ON a.attrelid = c.oid"
            " WHERE c.relname = ANY(%s) AND c.relkind IN ('r', 'p') AND pg_table_is_visible(c.oid)"
            " AND a.attnum > 0 AND NOT a.attisdropped"
        )
        rows = conn.exec_driver_sql(query, (names,)).all()
    found: dict[str, set[str]] = {}
    for table, column in rows:
        found.setdefault(table, set()).add(column)
    return found


def _refuse_foreign(db: Database) -> None:
    """A SQLite file with tables, none of them vrooli's, is another application's database."""
    from vrooli_sqlalchemy.tables import VERSION_TABLE

    tables = sorted(db.found_tables or ())
    if not tables or any(t.startswith("vrooli_") or t == VERSION_TABLE for t in tables):
        return
    shown = ", ".join(tables[:5]) + (", …" if len(tables) > 5 else "")
    assert db.url.path is not None
    raise DatabaseFileError(
        f"{db.url.display}: {db.url.path} is another application's database (tables {shown}) with no vrooli"
        " tables; the file was not changed. A SQLite store is a file of its own: name a new file. To add the"
        f" vrooli tables to this one on purpose: vrooli db upgrade --store {db.url.display}",
        path=db.url.path,
        reason="foreign",
    )


def _refuse_unversioned(columns: dict[str, set[str]], display: str) -> None:
    """vrooli tables without a recorded revision were not made by these migrations (or the version
    table was dropped): migrating would fail half way or work on tables it does not know."""
    from vrooli_sqlalchemy.tables import VERSION_TABLE

    tables = sorted(columns)
    if tables:
        raise SchemaMismatchError(
            f"{display}: the database has vrooli tables ({', '.join(tables)}) but no revision in {VERSION_TABLE}:"
            " they were not made by vrooli-sqlalchemy's migrations, or the version table was emptied or dropped."
            " Nothing was changed. Restore the database from a backup, or drop those tables to start over"
        )


def _refuse_mismatch(columns: dict[str, set[str]], display: str) -> None:
    """At the code's revision, the tables must be those the migrations made (names and columns)."""
    from vrooli_sqlalchemy.tables import metadata

    problems = []
    for table in metadata.sorted_tables:
        have = columns.get(table.name)
        want = {c.name for c in table.columns}
        if have is None:
            problems.append(f"table {table.name} is missing")
            continue
        if want - have:
            problems.append(f"{table.name} lacks {', '.join(sorted(want - have))}")
        if have - want:
            problems.append(f"{table.name} has {', '.join(sorted(have - want))}, which the revision does not")
    if problems:
        raise SchemaMismatchError(
            f"{display}: the vrooli tables do not match revision {head()}, which the database says it is at: "
            + "; ".join(problems)
            + ". They were changed outside the migrations; nothing was changed now. Restore the database from a backup"
        )


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
    from vrooli_sqlalchemy.database import Database
    from vrooli_sqlalchemy.faults import translated

    parsed = _parsed(url)
    with translated(parsed):
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
