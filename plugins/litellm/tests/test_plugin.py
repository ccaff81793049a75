"""Packaging and loading: the entry point, lazy imports, settings."""

from __future__ import annotations

import subprocess
import sys
import warnings
from importlib import metadata

import pytest
from vrooli_litellm.client import ModelClient
from vrooli_litellm.plugin import LiteLLMPlugin
from vrooli_litellm.settings import LiteLLMSettings

from vrooli_core.errors import ConfigError
from vrooli_core.plugins import PluginHost

LAZY = """
import sys
import vrooli_litellm, vrooli_litellm.plugin
from vrooli_core.plugins import PluginHost
host = PluginHost.create(load_entrypoints=True, strict=True)
assert any(i.name == "litellm" and i.status == "loaded" for i in host.plugins())
assert set(host.strategies()) >= {"conversational", "reasoning"}
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("litellm", "openai", "tiktoken", "httpx"))
print(heavy)
assert not heavy, heavy
"""


def test_loading_the_plugin_imports_no_litellm() -> None:
    """A fresh interpreter: importing the plugin, loading every entry point and listing the strategies
    (what ``vrooli --help`` and ``vrooli plugins`` do) leaves litellm unimported."""
    done = subprocess.run([sys.executable, "-c", LAZY], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr + done.stdout


def test_entry_point() -> None:
    [ep] = [ep for ep in metadata.entry_points(group="vrooli") if ep.name == "litellm"]
    # A class: each plugin host makes its own instance, with its own settings.
    assert ep.value == "vrooli_litellm.plugin:LiteLLMPlugin" and ep.load() is LiteLLMPlugin
    assert ep.dist is not None and ep.dist.metadata["Name"] == "vrooli-litellm"


def test_malicious_releases_are_excluded() -> None:
    requires = metadata.requires("vrooli-litellm") or []
    [litellm] = [r for r in requires if r.startswith("litellm")]
    assert "!=1.82.7" in litellm and "!=1.82.8" in litellm


def test_each_plugin_instance_binds_its_own_settings() -> None:
    one, two = LiteLLMPlugin(LiteLLMSettings(default_model="a")), LiteLLMPlugin(LiteLLMSettings(default_model="b"))
    h1, h2 = PluginHost.create(load_entrypoints=False), PluginHost.create(load_entrypoints=False)
    h1.register(one, "litellm")
    h2.register(two, "litellm")
    assert h1.strategies()["reasoning"]().client.settings.default_model == "a"
    assert h2.strategies()["conversational"]().client.settings.default_model == "b"
    assert h1.strategies()["reasoning"] is h1.strategies()["reasoning"]


def test_settings_from_config() -> None:
    s = LiteLLMSettings.from_mapping(
        {
            "default_model": "smart",
            "num_retries": 4,
            "timeout": 30,
            "models": {
                "fast": "openai/gpt-4o-mini",
                "smart": {"model": "anthropic/claude-3-5-sonnet-20240620", "api_key_env": "MY_KEY", "fallbacks": ["fast"]},
            },
        }
    )
    assert s.resolve("fast") == ("openai/gpt-4o-mini", {"model": "openai/gpt-4o-mini"})
    assert s.models["smart"]["api_key"] == "os.environ/MY_KEY"
    assert s.fallbacks == {"smart": ("fast",)} and (s.num_retries, s.timeout) == (4, 30.0)
    router = ModelClient(s).router
    assert router.num_retries == 4
    with warnings.catch_warnings():  # newer litellm deprecates model_list for its registry; older has no registry
        warnings.simplefilter("ignore", DeprecationWarning)
        names = {d["model_name"] for d in router.model_list}
    assert {"fast", "smart", "offline/echo", "offline/scripted", "*"} <= names


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"modles": {}}, "unknown setting"),
        ({"models": {"x": {"api_base": "http://h"}}}, "needs a litellm model name"),
        ({"models": {"x": {"model": "m", "fallbacks": ["y"]}}}, "unknown model"),
        ({"max_tool_rounds": 0}, "max_tool_rounds"),
        ({"num_retries": "many"}, "invalid literal"),
    ],
)
def test_bad_settings_are_config_errors(data: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        LiteLLMSettings.from_mapping(data)


def test_missing_key_variable_of_api_key_env(monkeypatch: pytest.MonkeyPatch) -> None:
    from vrooli_litellm.errors import MissingApiKeyError

    monkeypatch.delenv("MY_KEY", raising=False)
    client = ModelClient(LiteLLMSettings.from_mapping({"models": {"m": {"model": "openai/gpt-4o", "api_key_env": "MY_KEY"}}}))
    with pytest.raises(MissingApiKeyError, match="MY_KEY"):
        client.check_key("s", "m")
    monkeypatch.setenv("MY_KEY", "k")
    client.check_key("s", "m")
