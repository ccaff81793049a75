"""Script tasks: Python run in-process through a restricted interpreter (microseconds, no sandbox
process); FEEL script tasks of Camunda 8 write one result variable."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from vrooli_core.execution.strategy import StepContext, Strategy
from vrooli_core.model import StepKind


class ScriptStrategy(Strategy):
    name: ClassVar[str] = "bpmn-script"
    kinds: ClassVar[frozenset[StepKind]] = frozenset()
    # A script computes variables in-process; the functions it may call get no idempotency key (work
    # with effects belongs in a service task), so the engine records the task once, when it completes.
    side_effects: ClassVar[bool] = False

    async def execute(self, ctx: StepContext) -> Any:
        script = ctx.step.config["script"]
        variables: Mapping[str, Any] = ctx.inputs if isinstance(ctx.inputs, Mapping) else {}
        if isinstance(script, tuple):  # ("feel", result variable, compiled expression)
            _, result, expression = script
            value = expression.evaluate(variables)
            return {result: value} if result else {}
        functions = {name: spec.fn for name, spec in ctx.tools.items()}
        return script.run(variables, functions)
