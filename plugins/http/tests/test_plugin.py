"""Registration, configuration, and routines with API steps run end to end on an engine."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import RecordingServer, Reply, run_flow
from vrooli_http.plugin import HttpPlugin
from vrooli_http.settings import HttpSettings

from vrooli_core.config import Config
from vrooli_core.errors import ConfigError
from vrooli_core.model import RunStatus
from vrooli_core.plugins import PluginHost
from vrooli_core.testing.hosts import flow_plugin

pytestmark = pytest.mark.anyio


def test_the_entry_point_registers_the_http_strategy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VROOLI_LOAD_PLUGINS", "http")
    host = PluginHost.create(strict=True)
    strategies = host.strategies()
    assert strategies.owners["http"] == "http"
    from vrooli_http.strategy import HttpStrategy

    assert issubclass(strategies["http"], HttpStrategy)
    assert strategies["http"].kinds == {"api"}
    # Each host has its own plugin instance (and so its own settings and client).
    other = PluginHost.create(strict=True)
    assert other.pm.get_plugin("http") is not host.pm.get_plugin("http")
    assert isinstance(host.pm.get_plugin("http"), HttpPlugin)


def test_importing_the_plugin_imports_neither_httpx_nor_the_strategy() -> None:
    code = "import sys, vrooli_http.plugin; print(sorted(m for m in ('httpx', 'vrooli_http.strategy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_configure_reads_the_plugins_table_over_given_defaults() -> None:
    plugin = HttpPlugin({"retries": 5, "timeout": 3})
    host = PluginHost.create(load_entrypoints=False)
    host.register(plugin, "http")
    host.configure(Config.from_mapping({"plugins": {"http": {"timeout": 7.5, "secrets": {"a": "B"}}}}))
    assert plugin.settings == HttpSettings(timeout=7.5, retries=5, secrets={"a": "B"})
    assert host.strategies()["http"]().settings is plugin.settings


@pytest.mark.parametrize(
    ("table", "problem"),
    [({"timout": 1}, "unknown setting(s) timout"), ({"retries": -1}, "'retries'"), ({"trust_env": "yes"}, "'trust_env'")],
)
def test_bad_settings_are_config_errors(table: dict[str, object], problem: str) -> None:
    host = PluginHost.create(load_entrypoints=False)
    host.register(HttpPlugin(), "http")
    with pytest.raises(ConfigError, match=r"\[plugins\.http\]") as info:
        host.configure(Config.from_mapping({"plugins": {"http": table}}, origin="vrooli.toml"))
    assert problem in str(info.value)


async def test_a_routine_chains_api_steps_end_to_end(host: PluginHost, store: str, server: RecordingServer, environ: dict[str, str]) -> None:
    environ["VROOLI_SECRET_TOKEN"] = "tok-123456"
    server.reply(Reply(200, {"user": {"id": 42, "name": "Ada"}}), Reply(201, {"order": "o-1"}))
    flow = f"""
id = "order-for-user"
start = "find"
outputs = {{ type = "object" }}

[steps.find]
kind = "api"
in = {{ email = "email" }}
out = {{ user = "body.user" }}
config = {{ url = "{server.url}/users", query = {{ email = "{{inputs.email}}" }}, headers = {{ Authorization = "Bearer {{secret:TOKEN}}" }} }}
output_schema = {{ type = "object", required = ["status", "body"] }}
next = "order"

[steps.order]
kind = "api"
in = {{ user = "user" }}
out = {{ order = "body.order", order_status = "status" }}
config = {{ method = "POST", url = "{server.url}/users/{{inputs.user.id}}/orders", body = {{ for = "{{inputs.user.name}}", user_id = "{{inputs.user.id}}" }}, expect = [201] }}
"""
    result = await run_flow(host, store, flow, {"email": "ada@example.org"})

    assert result.run.status is RunStatus.COMPLETED, result.run.error
    assert result.variables["order"] == "o-1"
    assert result.variables["order_status"] == 201
    find, order = server.requests
    assert find.query == {"email": ["ada@example.org"]}
    assert order.path == "/users/42/orders"
    assert order.json() == {"for": "Ada", "user_id": 42}
    assert "idempotency-key" in order.headers
    assert "tok-123456" not in result.history


async def test_a_failed_api_step_can_route_to_an_error_step(host: PluginHost, store: str, server: RecordingServer) -> None:
    server.reply(Reply(404))
    flow = f"""
id = "with-fallback"
start = "call"

[steps.call]
kind = "api"
config = {{ url = "{server.url}/missing" }}
on_error = "fallback"

[steps.fallback]
kind = "noop"
"""
    result = await run_flow(host, store, flow)

    assert result.run.status is RunStatus.COMPLETED, result.run.error
    assert result.variables["error"]["code"] == "http_status"


async def test_the_step_timeout_of_the_engine_still_applies(host: PluginHost, store: str, server: RecordingServer) -> None:
    server.reply(Reply(200, delay=1.0))
    flow = f"""
id = "step-timeout"
start = "call"

[steps.call]
kind = "api"
timeout = 0.2
config = {{ url = "{server.url}/slow", retries = 0 }}
"""
    result = await run_flow(host, store, flow)

    assert result.error.code == "timeout"
    assert "timed out after 0.2 s" in result.error.message


async def test_one_client_per_strategy_reused_across_steps(store: str, server: RecordingServer) -> None:
    host = PluginHost.create(load_entrypoints=False)
    host.register(flow_plugin(), "flow")
    host.register(HttpPlugin({"trust_env": False}), "http")
    flow = f"""
id = "two-calls"
start = "a"
[steps.a]
kind = "api"
config = {{ url = "{server.url}/a" }}
next = "b"
[steps.b]
kind = "api"
config = {{ url = "{server.url}/b" }}
"""
    server.reply(Reply(200, {"ok": True}, {"Set-Cookie": "session=run-one; Path=/"}))
    await run_flow(host, store, flow)
    # No cookie jar: a cookie the server set is not sent on (it might belong to another run).
    assert "cookie" not in server.requests[1].headers
    # Keep-alive: both requests came over one connection, so one client (and pool) served them.
    assert [r.path for r in server.requests] == ["/a", "/b"]
    assert server.requests[0].peer == server.requests[1].peer
