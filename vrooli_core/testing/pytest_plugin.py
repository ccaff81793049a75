"""The vrooli pytest plugin. It is opt-in: nothing registers it for you.

Enable it in the ``conftest.py`` at the root of your tests::

    pytest_plugins = ["vrooli_core.testing.pytest_plugin"]

or on the command line with ``pytest -p vrooli_core.testing.pytest_plugin``.

Fixtures:

``vrooli_host``        a fresh :class:`~vrooli_core.plugins.PluginHost` (no entry points) with the flow
                       test navigator registered
``registered_plugin``  the :func:`~vrooli_core.testing.hosts.registered_plugin` context manager:
                       ``with registered_plugin(vrooli_host, MyPlugin(), "mine"): ...``
``fake_clock``         a :class:`~vrooli_core.clock.FakeClock` (pass it to ``Engine.open(clock=...)``)
``memory_store_url``   ``memory://<unique name>?verify=1``: a named in-memory store, shared by every
                       engine of the test that opens it (restart tests), forgotten at teardown
``anyio_backend``      ``"asyncio"``, for ``@pytest.mark.anyio`` tests
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import pytest

from vrooli_core.clock import FakeClock
from vrooli_core.plugins import PluginHost
from vrooli_core.storage.memory import MemoryStorage
from vrooli_core.testing.hosts import make_host
from vrooli_core.testing.hosts import registered_plugin as _registered_plugin

__all__ = ["anyio_backend", "fake_clock", "memory_store_url", "registered_plugin", "vrooli_host"]


@pytest.fixture
def vrooli_host() -> PluginHost:
    """A fresh plugin host for one test: kernel builtins plus the flow navigator, no entry points."""
    return make_host()


@pytest.fixture
def registered_plugin() -> Callable[[PluginHost, object, str], AbstractContextManager[str]]:
    """``registered_plugin(host, plugin, name)``: a context manager that registers ``plugin`` for the
    ``with`` block and unregisters it in ``finally``."""
    return _registered_plugin


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock that moves only when the test advances it (``engine.advance_clock(seconds)``)."""
    return FakeClock()


@pytest.fixture
def memory_store_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A unique ``memory://NAME?verify=1`` URL; the store is dropped when the test ends."""
    name = f"{re.sub(r'[^A-Za-z0-9_-]+', '-', request.node.name)[:60]}-{uuid.uuid4().hex[:12]}"
    try:
        yield f"memory://{name}?verify=1"
    finally:
        MemoryStorage.forget(name)


@pytest.fixture
def anyio_backend() -> str:
    """Run ``@pytest.mark.anyio`` tests on asyncio."""
    return "asyncio"
