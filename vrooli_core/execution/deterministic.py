"""The builtin deterministic strategy: call a registered Python tool with the step's inputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from vrooli_core.errors import UnknownPluginError
from vrooli_core.execution.safety import SafetyPoint
from vrooli_core.execution.strategy import StepContext, Strategy
from vrooli_core.model import StepKind


class DeterministicStrategy(Strategy):
    """Runs ``tool`` steps: ``step.config["tool"]`` names the tool; the step's inputs (after its IO
    mapping, plus ``step.config["args"]`` as constants) are the arguments. A tool that declares a
    ``ctx`` parameter receives the step context (for its idempotency key)."""

    name: ClassVar[str] = "deterministic"
    kinds: ClassVar[frozenset[StepKind]] = frozenset({StepKind.TOOL})

    async def execute(self, ctx: StepContext) -> Any:
        name = ctx.step.config.get("tool")
        if not name:
            raise UnknownPluginError("tool", "(none: the step names no tool)", list(ctx.tools))
        spec = ctx.tools[name]
        args: dict[str, Any] = dict(ctx.step.config.get("args") or {})
        if isinstance(ctx.inputs, Mapping):
            params = spec.parameters.get("properties", {})
            closed = spec.parameters.get("additionalProperties") is False
            # With every variable passed (no input mapping), give the tool only what it declares.
            args.update({k: v for k, v in ctx.inputs.items() if not closed or k in params})
        args = await ctx.check(SafetyPoint.BEFORE_TOOL_CALL, args, tool=name)
        return await spec.call(args, ctx)
