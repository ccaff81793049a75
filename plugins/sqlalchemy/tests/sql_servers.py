"""The PostgreSQL server the tests use, if one answers: ``VROOLI_TEST_POSTGRESQL`` or
``postgresql://postgres@127.0.0.1:5432/test``. Every test works in a schema of its own, dropped after it."""

from __future__ import annotations

import functools
import os
import re
import uuid

import psycopg
from psycopg import sql

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


class PostgresServer:
    def __init__(self, url: str) -> None:
        self.base = url

    def url(self, schema: str, **options: str) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"schema": schema, **options}.items())
        return f"{self.base}{'&' if '?' in self.base else '?'}{query}"

    def drop(self, schema: str) -> None:
        with psycopg.connect(self.base, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))

    def execute(self, schema: str, statement: str) -> list[tuple[object, ...]]:
        with psycopg.connect(self.base, autocommit=True) as conn:
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(schema)))
            cursor = conn.execute(statement.encode())
            return cursor.fetchall() if cursor.description else []


def schema_name(name: str = "") -> str:
    """A schema name of its own for a test (``name`` made an identifier)."""
    return f"vt_{re.sub(r'[^a-z0-9_]', '_', name.lower())[:40]}_{uuid.uuid4().hex[:8]}"


@functools.cache
def postgres_server() -> PostgresServer | str:
    """The server, or why there is none (asked once per test session)."""
    url = os.environ.get("VROOLI_TEST_POSTGRESQL", DEFAULT_URL)
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"no PostgreSQL server at {url} ({reason}); set VROOLI_TEST_POSTGRESQL to run these tests"
    return PostgresServer(url)
