"""Safety checks: allow, deny, redact or require approval at fixed points of a step."""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Iterable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

import attrs

from vrooli_core.errors import VrooliError
from vrooli_core.model import StepDef

if TYPE_CHECKING:
    from vrooli_core.execution.strategy import StepContext


class SafetyPoint(StrEnum):
    BEFORE_STEP = "before_step"
    AFTER_STEP = "after_step"
    BEFORE_MODEL_CALL = "before_model_call"
    AFTER_MODEL_CALL = "after_model_call"
    BEFORE_TOOL_CALL = "before_tool_call"


@attrs.frozen
class Allow:
    action: ClassVar[str] = "allow"


@attrs.frozen
class Deny:
    reason: str
    action: ClassVar[str] = "deny"


@attrs.frozen
class Redact:
    """Replace the checked value (step inputs or outputs, model messages, tool arguments)."""

    value: Any
    reason: str = ""
    action: ClassVar[str] = "redact"


@attrs.frozen
class RequireApproval:
    """A person must approve before the step goes on (the step becomes a human approval task)."""

    reason: str
    action: ClassVar[str] = "require_approval"


SafetyResult = Allow | Deny | Redact | RequireApproval
ALLOW = Allow()


@attrs.frozen
class SafetyRequest:
    point: SafetyPoint
    run_id: str
    value: Any
    step: StepDef | None = None
    token: str | None = None
    labels: Mapping[str, str] = attrs.field(factory=dict)
    #: At ``before_tool_call``: the tool about to be called (``None`` where the caller did not say).
    tool: str | None = None


class SafetyCheck(abc.ABC):
    """A policy consulted at the ``points`` it names. Checks run in registration order; the first
    result other than allow wins for deny and approval, and redactions apply one after another."""

    name: ClassVar[str]
    points: ClassVar[frozenset[SafetyPoint]] = frozenset(SafetyPoint)

    @abc.abstractmethod
    async def check(self, request: SafetyRequest) -> SafetyResult:
        """Judge ``request.value`` at ``request.point``."""


class SafetyDenied(VrooliError):
    """A safety check denied an action; the step fails with code ``safety_denied``."""

    code = "safety_denied"

    def __init__(self, check: str, point: str, reason: str) -> None:
        super().__init__(f"denied by safety check {check!r} at {point}: {reason}")
        self.check = check
        self.point = point
        self.reason = reason


class ApprovalRequired(VrooliError):
    """A safety check asks a person to approve; the step waits on an approval task."""

    def __init__(self, check: str, point: str, reason: str) -> None:
        super().__init__(f"approval required by safety check {check!r} at {point}: {reason}")
        self.check = check
        self.point = point
        self.reason = reason


async def apply_checks(
    checks: Iterable[SafetyCheck],
    ctx: StepContext,
    point: SafetyPoint,
    value: Any,
    *,
    approved: bool = False,
    record: Callable[[SafetyCheck, SafetyResult], Awaitable[None]] | None = None,
    tool: str | None = None,
) -> Any:
    """Consult ``checks`` at ``point`` on ``value``, in order: ``record`` every result other than
    allow, raise :class:`SafetyDenied` / :class:`ApprovalRequired`, and return the value with every
    redaction applied. ``approved``: a person already approved this step, so approval is not asked again."""
    for check in checks:
        if point not in check.points:
            continue
        result = await check.check(SafetyRequest(point, ctx.run_id, value, ctx.step, ctx.token.id, ctx.labels, tool))
        if isinstance(result, Allow) or (approved and isinstance(result, RequireApproval)):
            continue
        if record is not None:
            await record(check, result)
        if isinstance(result, Deny):
            raise SafetyDenied(check.name, point.value, result.reason)
        if isinstance(result, RequireApproval):
            raise ApprovalRequired(check.name, point.value, result.reason)
        value = result.value
    return value
