"""Fixtures for the BPMN plugin's tests: an engine with the BPMN navigator, and a BPMN model builder."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import vrooli_bpmn.plugin

from vrooli_core.plugins import PluginHost
from vrooli_core.storage.memory import MemoryStorage


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def host() -> PluginHost:
    h = PluginHost.create(load_entrypoints=False)
    h.register(vrooli_bpmn.plugin, "bpmn")
    return h


@pytest.fixture
def store() -> Iterator[str]:
    name = f"bpmn-{uuid.uuid4().hex}"
    yield f"memory://{name}?verify=1"
    MemoryStorage.forget(name)
