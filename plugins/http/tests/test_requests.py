"""What an API step sends and what it hands back."""

from __future__ import annotations

import pytest
from conftest import RecordingServer, Reply, api_flow, run_flow

from vrooli_core.model import RunStatus
from vrooli_core.plugins import PluginHost

pytestmark = pytest.mark.anyio


async def test_get_with_templated_url_and_query(host: PluginHost, store: str, server: RecordingServer) -> None:
    flow = api_flow(
        server,
        '{ url = "@URL@/users/{inputs.name}/posts", query = { page = "{inputs.page}", tag = ["a", "{inputs.tag}"], literal = "{{x}}" } }',
        inputs='in = { name = "user.name", page = "page", tag = "tag" }',
    )
    result = await run_flow(host, store, flow, {"user": {"name": "ada lovelace/../admin"}, "page": 2, "tag": "b&c"})

    assert result.run.status is RunStatus.COMPLETED, result.run.error
    [seen] = server.requests
    assert seen.method == "GET"
    # A value put into the path is one segment: its slashes and dots cannot climb out.
    assert seen.path == "/users/ada%20lovelace%2F..%2Fadmin/posts"
    assert seen.query == {"page": ["2"], "tag": ["a", "b&c"], "literal": ["{x}"]}
    assert "idempotency-key" not in seen.headers  # GET is idempotent by itself
    resp = result.variables["resp"]
    assert resp["status"] == 200
    assert resp["body"]["path"] == "/users/ada%20lovelace%2F..%2Fadmin/posts"
    assert resp["headers"]["content-type"] == "application/json"


async def test_post_json_body_sends_the_steps_idempotency_key(host: PluginHost, store: str, server: RecordingServer) -> None:
    flow = api_flow(
        server,
        '{ method = "POST", url = "@URL@/orders", body = { name = "{inputs.name}", count = "{inputs.count}", '
        'note = "for {inputs.name}", tags = ["x", "{inputs.name}"], meta = "{inputs.meta}" } }',
    )
    server.reply(Reply(201, {"id": 7}))
    result = await run_flow(host, store, flow, {"name": "ada", "count": 3, "meta": {"a": [1, None]}})

    assert result.run.status is RunStatus.COMPLETED, result.run.error
    [seen] = server.requests
    assert seen.method == "POST"
    assert seen.headers["content-type"] == "application/json"
    # A string that is one field keeps the input's JSON type; a field inside text becomes text.
    assert seen.json() == {"name": "ada", "count": 3, "note": "for ada", "tags": ["x", "ada"], "meta": {"a": [1, None]}}
    key = seen.headers["idempotency-key"]
    assert result.run.id in key and "call" in key
    assert result.variables["resp"] == {"status": 201, "headers": {"content-type": "application/json", "content-length": "9"}, "body": {"id": 7}}


async def test_form_body_and_headers(host: PluginHost, store: str, server: RecordingServer) -> None:
    flow = api_flow(server, '{ method = "PUT", url = "@URL@/f", headers = { X-Who = "{inputs.who}" }, form = { a = "1", b = "{inputs.who}" } }')
    result = await run_flow(host, store, flow, {"who": "bob smith"})

    assert result.run.status is RunStatus.COMPLETED, result.run.error
    [seen] = server.requests
    assert seen.headers["x-who"] == "bob smith"
    assert seen.headers["content-type"] == "application/x-www-form-urlencoded"
    assert seen.body == b"a=1&b=bob+smith"


async def test_head_has_no_body_and_text_responses_stay_text(host: PluginHost, store: str, server: RecordingServer) -> None:
    server.reply(Reply(200, "plain words"))
    result = await run_flow(host, store, api_flow(server, '{ url = "@URL@/t" }'))
    assert result.variables["resp"]["body"] == "plain words"

    server.reply(Reply(200, "ignored"))
    result = await run_flow(host, store, api_flow(server, '{ method = "HEAD", url = "@URL@/t" }'))
    assert result.variables["resp"]["body"] is None
    assert server.requests[-1].method == "HEAD"


async def test_only_a_filtered_subset_of_response_headers_is_echoed(host: PluginHost, store: str, server: RecordingServer) -> None:
    server.reply(Reply(200, {"ok": True}, {"Set-Cookie": "session=abc", "ETag": '"v1"', "X-Internal": "no"}))
    result = await run_flow(host, store, api_flow(server, '{ url = "@URL@/h" }'))

    headers = result.variables["resp"]["headers"]
    assert headers["etag"] == '"v1"'
    assert "set-cookie" not in headers and "x-internal" not in headers


async def test_404_fails_with_http_status_naming_the_status_and_step(host: PluginHost, store: str, server: RecordingServer) -> None:
    server.reply(Reply(404, {"detail": "no such user"}))
    result = await run_flow(host, store, api_flow(server, '{ url = "@URL@/users/x" }'))

    assert result.run.status is RunStatus.FAILED
    assert result.error.code == "http_status"
    assert "404" in result.error.message and "'call'" in result.error.message
    assert result.error.element == "call"
    assert len(server.requests) == 1  # a 404 is an answer, not a hiccup: never retried


async def test_expect_accepts_other_statuses(host: PluginHost, store: str, server: RecordingServer) -> None:
    server.reply(Reply(404, {"detail": "gone"}))
    result = await run_flow(host, store, api_flow(server, '{ url = "@URL@/x", expect = ["2xx", 404] }'))

    assert result.run.status is RunStatus.COMPLETED, result.run.error
    assert result.variables["resp"]["status"] == 404


async def test_declared_json_response_that_is_not_json_is_invalid_response(host: PluginHost, store: str, server: RecordingServer) -> None:
    server.reply(Reply(200, "<html>oops</html>"))
    result = await run_flow(host, store, api_flow(server, '{ url = "@URL@/x", response = "json" }'))

    assert result.error.code == "invalid_response"
    assert "not JSON" in result.error.message and "'call'" in result.error.message


async def test_request_timeout_fails_the_step(host: PluginHost, store: str, server: RecordingServer) -> None:
    server.reply(Reply(200, {"late": True}, delay=1.0))
    result = await run_flow(host, store, api_flow(server, '{ method = "POST", url = "@URL@/slow", timeout = 0.1, idempotency_key = false }'))

    assert result.run.status is RunStatus.FAILED
    assert result.error.code == "timeout"
    assert "timed out after 0.1 s" in result.error.message
    assert len(server.requests) == 1


async def test_invalid_config_names_the_problem(host: PluginHost, store: str, server: RecordingServer) -> None:
    result = await run_flow(host, store, api_flow(server, '{ url = "@URL@/x", methd = "GET" }'))
    assert result.error.code == "invalid_config"
    assert "methd" in result.error.message

    result = await run_flow(host, store, api_flow(server, '{ url = "@URL@/{inputs.nope}" }'))
    assert result.error.code == "invalid_config"
    assert "'inputs.nope'" in result.error.message
    assert server.requests == []
