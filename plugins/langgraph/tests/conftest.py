"""Fixtures: a host with this plugin, a shared memory store per test, and the test graphs importable."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import vrooli_langgraph.plugin

from vrooli_core.plugins import PluginHost
from vrooli_core.testing.pytest_plugin import memory_store_url  # noqa: F401 - used by the store fixture

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def host() -> PluginHost:
    h = PluginHost.create(load_entrypoints=False)
    h.register(vrooli_langgraph.plugin, "langgraph")
    return h


@pytest.fixture
def store(memory_store_url: str) -> str:  # noqa: F811 - the kit's fixture, imported above
    return memory_store_url


@pytest.fixture(autouse=True)
def _calls():
    import graphs

    graphs.CALLS.clear()
