"""The conversational strategy: one model turn, free text out."""

from __future__ import annotations

from typing import Any, ClassVar

from vrooli_core.execution.safety import SafetyPoint
from vrooli_core.execution.strategy import StepContext
from vrooli_litellm.base import ModelStrategy, StepCalls
from vrooli_litellm.prompt import build_messages

__all__ = ["ConversationalStrategy"]


class ConversationalStrategy(ModelStrategy):
    """A ``model`` step as one turn: the persona (``system`` or ``persona``) as the system message,
    ``prompt`` filled in with the step's inputs as the user message; the output is the reply text."""

    name: ClassVar[str] = "conversational"

    async def run(self, ctx: StepContext, calls: StepCalls) -> Any:
        model = self.model_for(ctx)
        messages = build_messages(ctx.step.config, ctx.inputs, ctx.step.id)
        reply = await self.call(ctx, calls, model, messages)
        return await ctx.check(SafetyPoint.AFTER_MODEL_CALL, reply.content or "")
