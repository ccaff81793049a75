"""Connecting: one SQLAlchemy engine per open store, with the settings each database needs, and the
read and write transactions the store's operations run in (always in a worker thread).

SQLite: a file in WAL mode (readers never wait for the writer), ``busy_timeout`` for the writers of
other processes, foreign keys on. Python's sqlite3 would start transactions only before INSERT and
UPDATE (so DDL and reads ran outside them); it is put in autocommit mode and every transaction is
begun here: ``BEGIN IMMEDIATE`` for writes (the write lock is taken at the start, so two writers
never deadlock upgrading read locks), plain ``BEGIN`` for reads. Writers of one process take turns
on a lock per file, so they queue instead of polling SQLite's busy handler.

A SQLite file is looked at before the first pooled connection (which switches it to WAL, a change
to the file): one that is not a SQLite database, or that SQLite finds damaged, is refused without
being changed, and the tables it holds are kept for ``migrate.prepare`` to decide on.

PostgreSQL: psycopg 3; ``schema=NAME`` is the search path of every connection, and connections say
``application_name=vrooli`` unless the URL names another (``pg_stat_activity`` shows whose they are).
A write transaction whose connection breaks while COMMIT is under way raises ``CommitUnknown``: the
callers find out whether it was stored (``faults.py``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import sqlalchemy as sa
from sqlalchemy import event

from vrooli_core.errors import StorageError
from vrooli_sqlalchemy.errors import DatabaseFileError
from vrooli_sqlalchemy.faults import BUSY, DAMAGED, CommitUnknown, damaged, locked, sqlite_code
from vrooli_sqlalchemy.url import StoreURL

__all__ = ["POOL_SIZE", "Database"]

#: Connections per store, and so the worker threads a store uses at most.
POOL_SIZE = 8
_WRITE = "vrooli_write"
# One lock per SQLite file, shared by every store of the process on it (dict.setdefault is atomic).
_FILE_LOCKS: dict[str, threading.Lock] = {}
_SQLITE_MAGIC = b"SQLite format 3\x00"


class Database:
    """An engine on one store and its transactions."""

    def __init__(self, url: StoreURL) -> None:
        self.url = url
        #: SQLite: the tables the file held before this store connected (``None``: a new file).
        self.found_tables = _look(url) if url.path is not None else None
        self.engine = _create_engine(url)
        self.dialect = url.dialect
        self._writers = _FILE_LOCKS.setdefault(str(url.path), threading.Lock()) if url.path is not None else None

    @contextlib.contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """A write transaction: committed when the block ends, rolled back when it raises.
        ``CommitUnknown`` when the connection broke during the COMMIT."""
        committing = False
        with self._writers or contextlib.nullcontext(), self.engine.connect() as conn:
            conn.execution_options(**{_WRITE: True})
            try:
                with conn.begin():
                    yield conn
                    committing = True
            except sa.exc.DBAPIError as exc:
                if committing and exc.connection_invalidated and self.dialect == "postgresql":
                    raise CommitUnknown(exc) from exc
                raise

    @contextlib.contextmanager
    def read(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn:
            yield conn

    def close(self) -> None:
        self.engine.dispose()


def _look(url: StoreURL) -> frozenset[str] | None:
    """The tables of the SQLite file, read without writing to it; ``None`` for a new (missing or
    empty) file. A file SQLite cannot use is refused here, unchanged.

    Python never opens the file while it may be a database in use: closing any descriptor of a file
    drops every POSIX lock the process holds on it, the locks of its SQLite connections included;
    another process's connection that closes then takes itself for the last one, checkpoints the
    WAL and deletes it, and the next commits of this process go to the deleted file (lost). SQLite's
    own connections share their locks and close safely."""
    path = url.path
    assert path is not None
    if path.is_dir():
        raise DatabaseFileError(f"{url.display}: {path} is a folder, not a file", path=path, reason="unusable")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise DatabaseFileError(
            f"{url.display}: {path} is unreadable ({exc.strerror})", path=path, reason="unusable"
        ) from exc
    if size == 0:
        return None
    if not os.access(path, os.R_OK):
        raise DatabaseFileError(
            f"{url.display}: {path} is unreadable (permission denied)", path=path, reason="unusable"
        )
    try:
        # A plain connection reads the schema and writes nothing (no journal mode switch).
        conn = sqlite3.connect(path, timeout=url.busy_timeout / 1000, isolation_level=None)
        try:
            names = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        code = sqlite_code(exc)
        if code in DAMAGED:
            header = _header(path)  # SQLite cannot use the file: no connection holds a lock on it
            if header != _SQLITE_MAGIC:
                raise DatabaseFileError(
                    f"{url.display}: {path} is not a SQLite database (it begins {header!r}); the file was not"
                    " changed. Name a new file for the store, or the store's own file",
                    path=path,
                    reason="not_sqlite",
                ) from exc
            raise damaged(url, str(exc), unchanged=True) from exc
        if code == BUSY:
            raise locked(url) from exc
        raise StorageError(f"{url.display}: {exc}") from exc
    return frozenset(name for (name,) in names if not name.startswith("sqlite_"))


def _header(path: Path) -> bytes:
    with path.open("rb") as file:
        return file.read(len(_SQLITE_MAGIC))


def _create_engine(url: StoreURL) -> sa.Engine:
    pool: dict[str, Any] = {"pool_size": POOL_SIZE, "max_overflow": 0, "pool_timeout": 60}
    if url.dialect == "sqlite":
        assert url.path is not None
        try:
            url.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"{url.display}: cannot create the folder of the database: {exc}") from exc
        engine = sa.create_engine(url.driver_url, connect_args={"check_same_thread": False}, **pool)
        event.listen(engine, "connect", _sqlite_settings(url))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    named = any(key == "application_name" for key, _ in parse_qsl(urlsplit(url.driver_url).query))
    # pre-ping: a connection the server closed (restart, idle timeout) is replaced, not handed out.
    engine = sa.create_engine(
        url.driver_url, pool_pre_ping=True, connect_args={} if named else {"application_name": "vrooli"}, **pool
    )
    if url.schema is not None:
        event.listen(engine, "connect", _search_path(url.schema), insert=True)
    return engine


def _sqlite_settings(url: StoreURL) -> Any:
    def connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions are begun by _sqlite_begin
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(url.busy_timeout)}")
            mode = _wal(cursor, url.busy_timeout / 1000)
            if str(mode).lower() != "wal":
                raise StorageError(f"{url.display}: SQLite cannot use WAL mode for this file (journal mode {mode})")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute(f"PRAGMA synchronous = {url.synchronous}")
        finally:
            cursor.close()

    return connect


def _wal(cursor: Any, timeout: float) -> str:
    """Switch a new database file to WAL (the mode is kept in the file: later connections find it
    set). The switch needs the file to itself, and SQLite does not wait for that through the busy
    timeout: two connections opening a new file at once would see "database is locked". So retry."""
    mode = str(cursor.execute("PRAGMA journal_mode").fetchone()[0])
    deadline = time.monotonic() + timeout
    while mode.lower() != "wal":
        try:
            mode = str(cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)
        else:
            break
    return mode


def _sqlite_begin(conn: sa.Connection) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


def _search_path(schema: str) -> Any:
    def connect(dbapi_connection: Any, _record: Any) -> None:
        # Outside a transaction, so the setting is the session's and survives every rollback.
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f'SET search_path TO "{schema}"')
        finally:
            dbapi_connection.autocommit = autocommit

    return connect
