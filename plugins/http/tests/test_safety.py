"""The request goes past the ``before_tool_call`` safety checks first — with secrets masked."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from conftest import RecordingServer, api_flow, run_flow

from vrooli_core.execution.safety import ALLOW, Deny, Redact, SafetyCheck, SafetyPoint, SafetyRequest, SafetyResult
from vrooli_core.plugins import PluginHost
from vrooli_core.testing.hosts import CapabilityPlugin

pytestmark = pytest.mark.anyio


class Recorder(SafetyCheck):
    name: ClassVar[str] = "recorder"
    points: ClassVar[frozenset[SafetyPoint]] = frozenset({SafetyPoint.BEFORE_TOOL_CALL})
    seen: ClassVar[list[Any]] = []

    async def check(self, request: SafetyRequest) -> SafetyResult:
        type(self).seen.append(request.value)
        return ALLOW


class NoAdmin(SafetyCheck):
    name: ClassVar[str] = "no-admin"
    points: ClassVar[frozenset[SafetyPoint]] = frozenset({SafetyPoint.BEFORE_TOOL_CALL})

    async def check(self, request: SafetyRequest) -> SafetyResult:
        return Deny("admin endpoints are off limits") if "/admin" in request.value["url"] else ALLOW


class DropTrace(SafetyCheck):
    name: ClassVar[str] = "drop-trace"
    points: ClassVar[frozenset[SafetyPoint]] = frozenset({SafetyPoint.BEFORE_TOOL_CALL})

    async def check(self, request: SafetyRequest) -> SafetyResult:
        value = dict(request.value)
        value["headers"] = {k: v for k, v in value["headers"].items() if k != "X-Trace"}
        return Redact(value, "no tracing headers")


async def test_checks_see_the_request_with_secrets_masked(
    host: PluginHost, store: str, server: RecordingServer, environ: dict[str, str]
) -> None:
    environ["VROOLI_SECRET_TOKEN"] = "hunter2hunter2"
    Recorder.seen.clear()
    host.register(CapabilityPlugin(safety_checks=[Recorder]), "recorder")
    flow = api_flow(server, '{ method = "DELETE", url = "@URL@/items/{inputs.id}", headers = { Authorization = "Bearer {secret:TOKEN}" } }')
    result = await run_flow(host, store, flow, {"id": 5})

    assert result.run.error is None
    assert Recorder.seen == [
        {"method": "DELETE", "url": f"{server.url}/items/5", "headers": {"Authorization": "Bearer ***"}, "query": {}}
    ]
    assert server.requests[0].headers["authorization"] == "Bearer hunter2hunter2"


async def test_a_denied_request_is_never_sent(host: PluginHost, store: str, server: RecordingServer) -> None:
    host.register(CapabilityPlugin(safety_checks=[NoAdmin]), "no-admin")
    result = await run_flow(host, store, api_flow(server, '{ url = "@URL@/admin/users" }'))

    assert result.error.code == "safety_denied"
    assert "off limits" in result.error.message
    assert server.requests == []


async def test_a_redaction_applies_and_keeps_masked_secrets_real(
    host: PluginHost, store: str, server: RecordingServer, environ: dict[str, str]
) -> None:
    environ["VROOLI_SECRET_TOKEN"] = "hunter2hunter2"
    host.register(CapabilityPlugin(safety_checks=[DropTrace]), "drop-trace")
    flow = api_flow(server, '{ url = "@URL@/x", headers = { Authorization = "Bearer {secret:TOKEN}", X-Trace = "1" } }')
    result = await run_flow(host, store, flow)

    assert result.run.error is None
    [seen] = server.requests
    assert "x-trace" not in seen.headers
    assert seen.headers["authorization"] == "Bearer hunter2hunter2"
