"""Fixtures: a fresh host with the flow navigator and a fresh plugin instance; no provider keys."""

from __future__ import annotations

import pytest
from vrooli_litellm.plugin import LiteLLMPlugin

from vrooli_core.plugins import PluginHost
from vrooli_core.testing.hosts import make_host
from vrooli_core.testing.pytest_plugin import memory_store_url  # noqa: F401 - used by the store fixture

KEYS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "MISTRAL_API_KEY")


@pytest.fixture(autouse=True)
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a provider: without keys, a call that is not mocked fails before it is made."""
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def plugin() -> LiteLLMPlugin:
    return LiteLLMPlugin()


@pytest.fixture
def host(plugin: LiteLLMPlugin) -> PluginHost:
    """A fresh host: the kernel builtins, the flow test navigator and this plugin (no entry points)."""
    return make_host((plugin, "litellm"))


@pytest.fixture
def store(memory_store_url: str) -> str:  # noqa: F811 - the kit's fixture, imported above
    """A memory store of this test (dropped when it ends)."""
    return memory_store_url
