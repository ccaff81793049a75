"""The builtin code strategy: runs a ``code`` step's Python source in a sandboxed child process.

A step's config gives ``code``, Python source that defines ``main(inputs)``: it is called with the
step's inputs (JSON values) and returns the step's output (a JSON value). Optional: ``limits``
(``cpu_seconds``, ``memory_mb``, ``wall_seconds``, ``file_mb``, ``open_files``, ``output_mb``) and
``network`` (``best_effort``: cut where the OS allows, else run and report it; ``required``: fail
when it cannot be cut; ``allow``). What the sandbox guarantees is in ``docs/sandbox.md``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from vrooli_core.errors import VrooliError
from vrooli_core.execution.sandbox import NETWORK_MODES, Limits, SandboxInputError, SandboxResult, run_code
from vrooli_core.execution.strategy import StepContext, Strategy
from vrooli_core.model import Outcome, StepDef, StepKind
from vrooli_core.model.events import event_type

#: Characters of the code's log (stdout and stderr) kept in a failed outcome's details.
LOG_CHARS = 2000


class CodeStepError(VrooliError):
    """A code step is misconfigured (``invalid_config``) or its inputs are not JSON (``invalid_input``)."""

    def __init__(self, step: str, message: str, *, code: str = "invalid_config") -> None:
        super().__init__(f"code step {step!r}: {message}")
        self.step = step
        self.code = code


@event_type("step.sandbox")
@attrs.frozen
class SandboxReport:
    """Recorded after a code step ran (``ctx.note``, stored in the run's history): what isolation it had."""

    type: ClassVar[str]
    token: str
    step: str
    network_cut: bool
    network: str
    limits: tuple[str, ...]
    #: The failure's code, or ``None`` when the code returned a result.
    error: str | None = None


class CodeStrategy(Strategy):
    """Runs ``code`` steps in a child process (see :mod:`vrooli_core.execution.sandbox`). It keeps the
    default ``side_effects = True``: the code may do anything the engine's user may do to files."""

    name: ClassVar[str] = "code"
    kinds: ClassVar[frozenset[StepKind]] = frozenset({StepKind.CODE})

    async def execute(self, ctx: StepContext) -> Outcome:
        step = ctx.step
        source, limits, network = _config(step)
        try:
            result = await run_code(source, ctx.inputs, limits=limits, filename=f"<step {step.id}>", network=network)
        except SandboxInputError as exc:
            raise CodeStepError(step.id, str(exc), code="invalid_input") from None
        iso = result.isolation
        await ctx.note(SandboxReport(ctx.token.id, step.id, iso.network_cut, iso.network, iso.limits, result.error))
        if result.ok:
            return Outcome(output=result.output)
        return _failure(step, result)


def _config(step: StepDef) -> tuple[str, Limits, str]:
    source = step.config.get("code")
    if not isinstance(source, str) or not source.strip():
        raise CodeStepError(step.id, "needs `code`: Python source that defines main(inputs)")
    try:
        limits = Limits.from_config(step.config.get("limits"))
    except (TypeError, ValueError) as exc:
        raise CodeStepError(step.id, f"invalid limits: {exc}") from None
    network = step.config.get("network", "best_effort")
    if network not in NETWORK_MODES:
        raise CodeStepError(step.id, f"network must be one of {', '.join(NETWORK_MODES)}, not {network!r}")
    return source, limits, network


def _failure(step: StepDef, result: SandboxResult) -> Outcome:
    assert result.error is not None
    message = f"code step {step.id!r}: {result.message}"
    details: dict[str, Any] = {**result.details, "sandbox": result.isolation.as_dict(), "log": result.log[-LOG_CHARS:]}
    if result.error == "code_error" and details.get("traceback"):
        message += "\n" + "\n".join(str(details["traceback"]).splitlines()[-10:])
    kind = str(details.get("type") or "sandbox")
    return Outcome.failure(result.error, message, element=step.id, type=kind, details=details)
