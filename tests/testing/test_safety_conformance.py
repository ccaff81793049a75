"""The safety check conformance suite, run against a small check defined here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from vrooli_core.execution.safety import (
    ALLOW,
    Deny,
    Redact,
    RequireApproval,
    SafetyCheck,
    SafetyPoint,
    SafetyRequest,
    SafetyResult,
)
from vrooli_core.testing.conformance import SafetyCheckConformance


class GuardRail(SafetyCheck):
    """Denies SQL that drops tables, hides passwords, and asks a person about large payments."""

    name: ClassVar[str] = "guard-rail"
    points: ClassVar[frozenset[SafetyPoint]] = frozenset({SafetyPoint.BEFORE_STEP, SafetyPoint.BEFORE_TOOL_CALL})

    async def check(self, request: SafetyRequest) -> SafetyResult:
        value = request.value
        if not isinstance(value, Mapping):
            return Deny("drops a table") if "drop table" in str(value).lower() else ALLOW
        if any("drop table" in str(v).lower() for v in value.values()):
            return Deny("drops a table")
        if float(value.get("amount", 0)) > 1000:
            return RequireApproval(f"a payment of {value['amount']} needs a second pair of eyes")
        if "password" in value:
            return Redact({**value, "password": "***"}, "passwords are never passed on")
        return ALLOW


def request(value: Any, point: SafetyPoint = SafetyPoint.BEFORE_STEP) -> SafetyRequest:
    return SafetyRequest(point, "run-1", value)


class TestGuardRail(SafetyCheckConformance):
    @property
    def check_class(self) -> type[SafetyCheck]:
        return GuardRail

    @property
    def allowed(self) -> list[SafetyRequest]:
        return [request({"query": "select 1"}), request("hello", SafetyPoint.BEFORE_TOOL_CALL), request({"amount": 10})]

    @property
    def denied(self) -> list[SafetyRequest]:
        return [request({"query": "DROP TABLE users"}), request("drop table x", SafetyPoint.BEFORE_TOOL_CALL)]

    @property
    def redacted(self) -> list[tuple[SafetyRequest, Any]]:
        return [(request({"user": "ada", "password": "hunter2"}), {"user": "ada", "password": "***"})]

    @property
    def approval_required(self) -> list[SafetyRequest]:
        return [request({"amount": 5000, "to": "acme"})]
