"""Migrations on SQLite and PostgreSQL: empty → head → base → head, the models agree with the
migrations, and a database at a revision this code does not know is refused."""

from __future__ import annotations

import anyio
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from vrooli_sqlalchemy import SchemaVersionError, SQLStorage, migrate
from vrooli_sqlalchemy.database import Database
from vrooli_sqlalchemy.tables import VERSION_TABLE, metadata
from vrooli_sqlalchemy.url import parse_url

from vrooli_core.errors import StorageError
from vrooli_core.serialization import make_converter

TABLES = {t.name for t in metadata.sorted_tables}


def tables_of(url: str) -> set[str]:
    db = Database(parse_url(url))
    try:
        with db.read() as conn:
            return set(sa.inspect(conn).get_table_names())
    finally:
        db.close()


def set_revision(url: str, revision: str) -> None:
    db = Database(parse_url(url))
    try:
        with db.write() as conn:
            conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = :r"), {"r": revision})
    finally:
        db.close()


def open_store(url: str) -> None:
    async def main() -> None:
        store = SQLStorage.from_url(url, converter=make_converter())
        await store.open()
        await store.close()

    anyio.run(main)


def test_empty_head_base_head(db_url: str) -> None:
    assert migrate.current(db_url) is None
    assert not tables_of(db_url) & TABLES
    migrate.upgrade(db_url)
    assert migrate.current(db_url) == migrate.head()
    assert tables_of(db_url) >= TABLES | {VERSION_TABLE}
    migrate.downgrade(db_url, "base")
    assert migrate.current(db_url) is None
    assert not tables_of(db_url) & TABLES
    migrate.upgrade(db_url, "head")
    assert migrate.current(db_url) == migrate.head()
    open_store(db_url)  # a store opens on it without migrating again


def test_models_match_migrations(db_url: str) -> None:
    migrate.upgrade(db_url)
    db = Database(parse_url(db_url))
    try:
        with db.read() as conn:
            context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE, "compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        db.close()


def test_open_upgrades_an_empty_database(db_url: str) -> None:
    open_store(db_url)
    assert migrate.current(db_url) == migrate.head()


def test_unknown_revision_is_refused(db_url: str) -> None:
    migrate.upgrade(db_url)
    set_revision(db_url, "9999_from_the_future")
    with pytest.raises(SchemaVersionError, match=r"9999_from_the_future.*newer vrooli-sqlalchemy") as info:
        open_store(db_url)
    assert isinstance(info.value, StorageError)
    assert info.value.found == ("9999_from_the_future",) and info.value.expected == migrate.head()
    for change in (migrate.upgrade, lambda url: migrate.downgrade(url, "base")):
        with pytest.raises(SchemaVersionError):
            change(db_url)
    assert TABLES <= tables_of(db_url), "a refused database was changed"


def test_migrate_0_opens_only_a_current_schema(db_url: str) -> None:
    off = db_url + ("&" if "?" in db_url else "?") + "migrate=0"
    with pytest.raises(SchemaVersionError, match=r"empty database.*migrate=0"):
        open_store(off)
    assert not tables_of(db_url) & TABLES, "migrate=0 created tables"
    migrate.upgrade(db_url)
    open_store(off)


def test_unknown_target_revision_is_a_storage_error(db_url: str) -> None:
    with pytest.raises(StorageError, match="nonsense"):
        migrate.upgrade(db_url, "nonsense")
    assert migrate.current(db_url) is None


def test_a_failed_migration_changes_nothing(db_url: str) -> None:
    """Migrations run in one transaction, on SQLite too: one that fails part way leaves no table."""
    from alembic import command

    db = Database(parse_url(db_url))
    try:
        with pytest.raises(RuntimeError, match="fails after the DDL"), migrate._locked(db) as conn:
            command.upgrade(migrate._config(conn), "head")
            raise RuntimeError("fails after the DDL")
    finally:
        db.close()
    assert not tables_of(db_url) & TABLES
    assert migrate.current(db_url) is None
