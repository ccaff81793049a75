"""Durable stores for the storage cases: a fresh SQLite file or PostgreSQL schema per engine, and what
a SQLite file holds.

vrooli-sqlalchemy is optional here as everywhere in ``bench``: ``missing(backend)`` says why a backend
cannot run (the plugin, psycopg or a PostgreSQL server is absent) and the cases report themselves
unavailable with that reason. The PostgreSQL server is ``VROOLI_BENCH_POSTGRESQL`` or
``postgresql://postgres@127.0.0.1:5432/test``; every store is a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import os
import sqlite3
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from bench import workloads as w
from vrooli_core import Engine, PluginHost

POSTGRESQL = os.environ.get("VROOLI_BENCH_POSTGRESQL", "postgresql://postgres@127.0.0.1:5432/test")


@functools.cache
def missing(backend: str) -> str | None:
    """Why ``backend`` (``sqlite`` or ``postgresql``) cannot run here, or None when it can."""
    if importlib.util.find_spec("vrooli_sqlalchemy") is None:
        return "vrooli-sqlalchemy is not installed (pip install -e plugins/sqlalchemy)"
    if backend == "sqlite":
        return None
    if importlib.util.find_spec("psycopg") is None:
        return "psycopg is not installed (pip install -e 'plugins/sqlalchemy[postgresql]')"
    import psycopg

    try:
        with psycopg.connect(POSTGRESQL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"no PostgreSQL server answers at {POSTGRESQL} ({reason}); set VROOLI_BENCH_POSTGRESQL"
    return None


def make_host() -> PluginHost:
    """The bench's host (builtins and the flow navigator) with the SQL storage backend registered."""
    import vrooli_sqlalchemy.plugin

    host = w.make_host()
    host.register(vrooli_sqlalchemy.plugin, "sqlalchemy")
    return host


def _drop_schema(schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(POSTGRESQL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@contextlib.contextmanager
def store_url(backend: str) -> Iterator[str]:
    """The URL of a new, empty store: a file in a temporary folder (removed afterwards) or a
    PostgreSQL schema of its own (dropped afterwards)."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="vrooli-bench-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'vrooli.db'}"
        return
    schema = f"vrooli_bench_{uuid.uuid4().hex[:10]}"
    sep = "&" if "?" in POSTGRESQL else "?"
    try:
        yield f"{POSTGRESQL}{sep}schema={schema}"
    finally:
        _drop_schema(schema)


def open_at(url: str, host: PluginHost | None = None, **kwargs: Any) -> Any:
    """``Engine.open`` on ``url`` with the bench's host and tools."""
    return Engine.open(url, host=host or make_host(), tools=w.TOOLS, **kwargs)


class DurableEngines:
    """Opens engines for ``bench.cases.timed_runs``: each ``open_engine()`` on a new, empty store."""

    def __init__(self, backend: str, **engine_kwargs: Any) -> None:
        self.backend = backend
        self.engine_kwargs = engine_kwargs
        #: Storage commits of the engines opened so far, and of the last one (counted by a thin wrapper).
        self.commits = 0
        self.last_commits = 0

    @contextlib.asynccontextmanager
    async def open_engine(self, **kwargs: Any) -> AsyncIterator[Engine]:
        with store_url(self.backend) as url:
            options = self.engine_kwargs | kwargs
            async with open_at(url, **options) as engine:
                self._count_commits(engine)
                yield engine

    def _count_commits(self, engine: Engine) -> None:
        commit = engine.storage.commit

        self.last_commits = 0

        async def counted(c: Any) -> None:
            self.commits += 1
            self.last_commits += 1
            await commit(c)

        engine.storage.commit = counted  # type: ignore[method-assign]

    load = staticmethod(w.load)


# -- what a SQLite file holds ------------------------------------------------------------------


def sqlite_path(url: str) -> Path:
    return Path(url[len("sqlite:///") :].split("?", 1)[0])


def sqlite_size(path: Path, *, vacuum: bool = False) -> dict[str, Any]:
    """The database's size once the write-ahead log is folded in (``wal_checkpoint(TRUNCATE)``):
    page_count x page_size (what the file takes), the free pages in it, and the bytes of each table
    and index (the ``dbstat`` table: every page, used or not, of each b-tree). With ``vacuum``, the
    file is rebuilt first (no free pages, b-tree pages packed)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if vacuum:
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        by_btree: dict[str, int] = {}
        payload: dict[str, int] = {}
        with contextlib.suppress(sqlite3.OperationalError):  # SQLite built without dbstat
            for name, size, used in conn.execute("SELECT name, sum(pgsize), sum(payload) FROM dbstat GROUP BY name"):
                by_btree[name], payload[name] = size, used
    finally:
        conn.close()
    return {
        "bytes": pages * page_size,
        "file_bytes": path.stat().st_size,
        "page_size": page_size,
        "free_pages": free,
        "by_btree": by_btree,
        "payload_by_btree": payload,
    }


def growth(before: dict[str, Any], after: dict[str, Any], key: str = "by_btree") -> dict[str, int]:
    """Bytes each table and index grew by (those that changed), largest first: its pages
    (``by_btree``) or the record bytes in them (``payload_by_btree``)."""
    names = set(before[key]) | set(after[key])
    delta = {n: after[key].get(n, 0) - before[key].get(n, 0) for n in names}
    return {n: d for n, d in sorted(delta.items(), key=lambda kv: -kv[1]) if d}


def sqlite_query(path: Path, query: str, params: tuple[Any, ...] = ()) -> list[Any]:
    """The rows of a read-only query on the file (its own connection, closed afterwards)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(query, params).fetchall()
    finally:
        conn.close()


def sqlite_rows(path: Path, queries: dict[str, str]) -> dict[str, Any]:
    """The single values of a few queries (row counts, payload sizes), by name."""
    return {name: sqlite_query(path, q)[0][0] for name, q in queries.items()}


def sqlite_plan(path: Path, query: str) -> str:
    """SQLite's plan for ``query`` (``EXPLAIN QUERY PLAN``), its steps joined by ``; ``."""
    return "; ".join(row[-1] for row in sqlite_query(path, "EXPLAIN QUERY PLAN " + query))
