"""Fixtures: a plugin host with this plugin, a SQLite file per test, a PostgreSQL schema per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import vrooli_sqlalchemy.plugin
from sql_servers import PostgresServer, postgres_server, schema_name

from vrooli_core.plugins import PluginHost
from vrooli_core.testing.hosts import flow_plugin


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def host() -> PluginHost:
    """A fresh host: the kernel builtins, the flow test navigator, and this plugin (no entry points)."""
    h = PluginHost.create(load_entrypoints=False)
    h.register(flow_plugin(), "flow")
    h.register(vrooli_sqlalchemy.plugin, "sqlalchemy")
    return h


@pytest.fixture
def postgres() -> PostgresServer:
    """The PostgreSQL server; the test is skipped, saying why, when none answers. The one place
    that decides whether PostgreSQL tests run."""
    server = postgres_server()
    if isinstance(server, str):
        pytest.skip(server)
    return server


@pytest.fixture
def postgres_url(postgres: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A URL on a schema of this test's own, dropped afterwards."""
    schema = schema_name(request.node.name)
    try:
        yield postgres.url(schema)
    finally:
        postgres.drop(schema)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """The test runs twice: on a SQLite file and on a PostgreSQL schema."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url
