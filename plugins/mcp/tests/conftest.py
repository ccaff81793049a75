"""Fixtures: the test MCP server, a fresh plugin host, a memory store, and a check that every server
process a test started is gone when it ends."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from vrooli_mcp import MCPServer

from vrooli_core.plugins import PluginHost
from vrooli_core.testing.hosts import make_host
from vrooli_core.testing.pytest_plugin import memory_store_url  # noqa: F401 - used by the store fixture

SERVER_SCRIPT = Path(__file__).with_name("mcp_test_server.py")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def no_server_left() -> Iterator[None]:
    """Fail a test that leaves a child process (an MCP server) running."""
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    yield
    left = [p for p in psutil.Process().children(recursive=True) if p.pid not in before and p.is_running()]
    left = [p for p in left if p.status() != psutil.STATUS_ZOMBIE]
    for p in left:  # don't let one leak break the following tests
        p.kill()
    assert not left, f"server processes left running: {left}"


@pytest.fixture
def server() -> MCPServer:
    return MCPServer("calc", [sys.executable, str(SERVER_SCRIPT)], timeout=10, startup_timeout=30)


@pytest.fixture
def host() -> PluginHost:
    """A fresh host: the kernel builtins and the flow test navigator (no entry points)."""
    return make_host()


@pytest.fixture
def store(memory_store_url: str) -> str:  # noqa: F811 - the kit's fixture, imported above
    """A memory store of this test (dropped when it ends)."""
    return memory_store_url
