"""Secrets: looked up by name, sent, and never stored."""

from __future__ import annotations

from urllib.parse import quote, quote_plus

import pytest
from conftest import RecordingServer, Reply, api_flow, run_flow
from vrooli_http.plugin import HttpPlugin

from vrooli_core.model import RunStatus
from vrooli_core.plugins import PluginHost
from vrooli_core.testing.hosts import flow_plugin

pytestmark = pytest.mark.anyio

SECRET = "s3cr3t/VALUE with+spaces&more"


def forms(secret: str) -> list[str]:
    return [secret, quote(secret, safe=""), quote_plus(secret), quote(secret)]


def assert_absent(text: str) -> None:
    for form in forms(SECRET):
        assert form not in text, f"secret (as {form!r}) leaked"


SECRET_EVERYWHERE = (
    '{ method = "POST", url = "@URL@/echo/{secret:API_TOKEN}", headers = { Authorization = "Bearer {secret:API_TOKEN}" }, '
    'query = { key = "{secret:API_TOKEN}" }, body = { token = "{secret:API_TOKEN}", plain = "ok" } }'
)


async def test_missing_secret_fails_naming_the_secret_and_step(host: PluginHost, store: str, server: RecordingServer) -> None:
    flow = api_flow(server, '{ url = "@URL@/x", headers = { Authorization = "Bearer {secret:API_TOKEN}" } }')
    result = await run_flow(host, store, flow)

    assert result.run.status is RunStatus.FAILED
    assert result.error.code == "missing_secret"
    assert "'API_TOKEN'" in result.error.message and "'call'" in result.error.message
    assert "VROOLI_SECRET_API_TOKEN" in result.error.message
    assert server.requests == []


async def test_secret_is_sent_but_never_reaches_the_stored_history(
    host: PluginHost, store: str, server: RecordingServer, environ: dict[str, str]
) -> None:
    environ["VROOLI_SECRET_API_TOKEN"] = SECRET
    result = await run_flow(host, store, api_flow(server, SECRET_EVERYWHERE))  # the server echoes everything back

    assert result.run.status is RunStatus.COMPLETED, result.run.error
    [seen] = server.requests
    assert seen.headers["authorization"] == f"Bearer {SECRET}"
    assert seen.query["key"] == [SECRET]
    assert seen.json()["token"] == SECRET
    assert seen.path == "/echo/" + quote(SECRET, safe="")
    assert_absent(result.history)
    assert_absent(repr(result.variables))
    echoed = result.variables["resp"]["body"]
    assert echoed["headers"]["authorization"] == "Bearer ***"
    assert echoed["path"] == "/echo/***"
    assert "***" in result.history


async def test_secret_in_a_failed_response_never_reaches_the_stored_history(
    host: PluginHost, store: str, server: RecordingServer, environ: dict[str, str]
) -> None:
    environ["VROOLI_SECRET_API_TOKEN"] = SECRET
    server.reply(Reply(500, f"bad token {SECRET}"))
    result = await run_flow(host, store, api_flow(server, SECRET_EVERYWHERE))

    assert result.error.code == "http_status"
    assert "/echo/***" in result.error.message
    assert result.error.details["body"] == "bad token ***"
    assert_absent(result.history)


async def test_secret_in_a_transport_error_is_redacted(host: PluginHost, store: str, server: RecordingServer, environ: dict[str, str]) -> None:
    environ["VROOLI_SECRET_API_TOKEN"] = SECRET
    # A header value with a line break is refused by httpx before sending; its message quotes the value.
    environ["VROOLI_SECRET_BROKEN"] = "line1\nline2"
    flow = api_flow(server, '{ url = "@URL@/x/{secret:API_TOKEN}", headers = { X-A = "{secret:BROKEN}" } }')
    result = await run_flow(host, store, flow)

    assert result.run.status is RunStatus.FAILED
    assert result.error.code == "request_error"
    assert "line1" not in result.history
    assert_absent(result.history)
    assert server.requests == []


async def test_secrets_from_the_environment_and_a_name_mapping(
    store: str, server: RecordingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VROOLI_SECRET_DB_PASS", "from-prefix")
    monkeypatch.setenv("MY_SERVICE_TOKEN", "from-mapping")
    host = PluginHost.create(load_entrypoints=False)
    host.register(flow_plugin(), "flow")
    host.register(HttpPlugin({"trust_env": False, "secrets": {"svc": "MY_SERVICE_TOKEN"}}), "http")
    flow = api_flow(server, '{ url = "@URL@/x", headers = { A = "{secret:db-pass}", B = "{secret:svc}" } }')
    result = await run_flow(host, store, flow)

    assert result.run.status is RunStatus.COMPLETED, result.run.error
    assert server.requests[0].headers["a"] == "from-prefix"
    assert server.requests[0].headers["b"] == "from-mapping"
    assert "from-prefix" not in result.history and "from-mapping" not in result.history


class Vault:
    def __init__(self) -> None:
        self.asked: list[str] = []

    async def get_secret(self, name: str) -> str | None:
        self.asked.append(name)
        return {"API_TOKEN": "vault-value"}.get(name)


async def test_secrets_provider_comes_first_then_the_environment(
    store: str, server: RecordingServer
) -> None:
    vault = Vault()
    host = PluginHost.create(load_entrypoints=False)
    host.register(flow_plugin(), "flow")
    host.register(HttpPlugin({"trust_env": False}, secrets=vault, environ={"VROOLI_SECRET_OTHER": "env-value"}), "http")
    flow = api_flow(server, '{ url = "@URL@/x", headers = { A = "{secret:API_TOKEN}", B = "{secret:OTHER}" } }')
    result = await run_flow(host, store, flow)

    assert result.run.status is RunStatus.COMPLETED, result.run.error
    assert sorted(vault.asked) == ["API_TOKEN", "OTHER"]
    assert server.requests[0].headers["a"] == "vault-value"
    assert server.requests[0].headers["b"] == "env-value"
    assert "vault-value" not in result.history and "env-value" not in result.history

    result = await run_flow(host, store, api_flow(server, '{ url = "@URL@/x", headers = { A = "{secret:NOPE}" } }'))
    assert result.error.code == "missing_secret"
    assert "secrets provider" in result.error.message


async def test_an_input_cannot_smuggle_in_a_secret_reference(
    host: PluginHost, store: str, server: RecordingServer, environ: dict[str, str]
) -> None:
    environ["VROOLI_SECRET_API_TOKEN"] = SECRET
    flow = api_flow(server, '{ url = "@URL@/x", query = { q = "{inputs.q}" }, headers = { X-Q = "{inputs.q}" } }')
    result = await run_flow(host, store, flow, {"q": "{secret:API_TOKEN}"})

    assert result.run.status is RunStatus.COMPLETED, result.run.error
    assert server.requests[0].query == {"q": ["{secret:API_TOKEN}"]}
    assert server.requests[0].headers["x-q"] == "{secret:API_TOKEN}"
