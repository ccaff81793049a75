"""Retries: which requests, on what, how long to wait."""

from __future__ import annotations

import pytest
from conftest import RecordingServer, Reply, api_flow, run_flow
from vrooli_http.retry import backoff_delay, parse_retry_after

from vrooli_core.model import RunStatus
from vrooli_core.plugins import PluginHost

pytestmark = pytest.mark.anyio


async def test_get_retries_503_then_succeeds(host: PluginHost, store: str, server: RecordingServer) -> None:
    server.reply(Reply(503), Reply(502), Reply(200, {"ok": True}))
    result = await run_flow(host, store, api_flow(server, '{ url = "@URL@/flaky" }'))

    assert result.run.status is RunStatus.COMPLETED, result.run.error
    assert len(server.requests) == 3
    assert result.variables["resp"]["body"] == {"ok": True}


async def test_retries_run_out_and_the_step_fails(host: PluginHost, store: str, server: RecordingServer) -> None:
    server.reply(*[Reply(503)] * 5)
    result = await run_flow(host, store, api_flow(server, '{ url = "@URL@/down", retries = 1 }'))

    assert result.error.code == "http_status"
    assert "503" in result.error.message and "2 attempts" in result.error.message
    assert len(server.requests) == 2


async def test_post_without_idempotency_key_is_not_retried(host: PluginHost, store: str, server: RecordingServer) -> None:
    server.reply(Reply(503), Reply(200))
    result = await run_flow(host, store, api_flow(server, '{ method = "POST", url = "@URL@/pay", body = { a = 1 }, idempotency_key = false }'))

    assert result.error.code == "http_status"
    assert len(server.requests) == 1
    assert "idempotency-key" not in server.requests[0].headers


async def test_patch_is_not_retried_by_default(host: PluginHost, store: str, server: RecordingServer) -> None:
    server.reply(Reply(503), Reply(200))
    result = await run_flow(host, store, api_flow(server, '{ method = "PATCH", url = "@URL@/p", body = { a = 1 } }'))

    assert result.error.code == "http_status"
    assert len(server.requests) == 1


async def test_post_with_idempotency_key_is_retried_with_the_same_key(host: PluginHost, store: str, server: RecordingServer) -> None:
    server.reply(Reply(503), Reply(201, {"id": 1}))
    result = await run_flow(host, store, api_flow(server, '{ method = "POST", url = "@URL@/pay", body = { a = 1 } }'))

    assert result.run.status is RunStatus.COMPLETED, result.run.error
    first, second = server.requests
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert first.body == second.body


async def test_connection_refused_is_retried_then_fails(host: PluginHost, store: str, server: RecordingServer) -> None:
    url = server.url
    server.close()  # nothing listens on the port any more
    result = await run_flow(host, store, api_flow(server, f'{{ url = "{url}/x", retries = 1 }}'))

    assert result.error.code == "connect_error"
    assert "2 attempts" in result.error.message


async def test_timeouts_of_an_idempotent_request_are_retried(host: PluginHost, store: str, server: RecordingServer) -> None:
    server.reply(Reply(200, delay=0.5), Reply(200, {"ok": True}))
    result = await run_flow(host, store, api_flow(server, '{ url = "@URL@/slow", timeout = 0.1 }'))

    assert result.run.status is RunStatus.COMPLETED, result.run.error
    assert len(server.requests) == 2


async def test_retry_after_is_honoured(host: PluginHost, store: str, server: RecordingServer) -> None:
    server.reply(Reply(429, headers={"Retry-After": "0.3"}), Reply(200, {"ok": True}))
    result = await run_flow(host, store, api_flow(server, '{ url = "@URL@/limited" }'))

    assert result.run.status is RunStatus.COMPLETED, result.run.error
    first, second = server.requests
    assert second.at - first.at >= 0.3  # the backoff alone would be about a millisecond


async def test_a_retry_after_longer_than_allowed_ends_the_retries(host: PluginHost, store: str, server: RecordingServer) -> None:
    server.reply(Reply(503, headers={"Retry-After": "120"}), Reply(200))
    result = await run_flow(host, store, api_flow(server, '{ url = "@URL@/later" }'))

    assert result.error.code == "http_status"
    assert "Retry-After asks for 120 s" in result.error.message
    assert len(server.requests) == 1


def test_parse_retry_after() -> None:
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after(" 0.25 ") == 0.25
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 -0000", now=1445412480.0) == 10.0


def test_backoff_grows_is_capped_and_jittered() -> None:
    delays = [backoff_delay(n, 1.0, 5.0) for n in range(5)]
    assert 0.5 <= delays[0] <= 1.0
    assert 1.0 <= delays[1] <= 2.0
    assert all(2.5 <= d <= 5.0 for d in delays[3:])
    assert len({backoff_delay(2, 1.0, 5.0) for _ in range(20)}) > 1
