"""Shared fixtures of the kernel's own tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from vrooli_core.plugins import PluginHost, hookimpl
from vrooli_core.storage.memory import MemoryStorage
from vrooli_core.testing.flow import FlowNavigator


class FlowPlugin:
    @hookimpl
    def vrooli_register_navigators(self) -> list[type]:
        return [FlowNavigator]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def host() -> PluginHost:
    """A fresh host with the builtins and the flow navigator, and no entry points."""
    h = PluginHost.create(load_entrypoints=False)
    h.register(FlowPlugin(), "flow")
    return h


@pytest.fixture
def store() -> Iterator[str]:
    """A named, verifying memory store shared by every engine of the test (so a test can restart)."""
    name = f"test-{uuid.uuid4().hex}"
    yield f"memory://{name}?verify=1"
    MemoryStorage.forget(name)

