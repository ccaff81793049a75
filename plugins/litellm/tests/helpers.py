"""Running one step through the executor with recorded safety calls."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs
from vrooli_litellm.conversational import ConversationalStrategy
from vrooli_litellm.reasoning import ReasoningStrategy

from vrooli_core.execution.executor import Executor
from vrooli_core.execution.safety import SafetyCheck, SafetyPoint
from vrooli_core.model import Outcome, StepDef, StepKind
from vrooli_core.testing.fakes import FakeStepServices, step_context


def model_step(sid: str = "ask", **config: Any) -> StepDef:
    return StepDef(sid, kind=StepKind.MODEL, config=config)


async def execute(
    step: StepDef, inputs: Any = None, *, tools: Iterable[Any] = (), checks: Iterable[SafetyCheck] = ()
) -> tuple[Outcome, FakeStepServices]:
    services = FakeStepServices(checks)
    executor = Executor({"conversational": ConversationalStrategy(), "reasoning": ReasoningStrategy()})
    outcome = await executor.execute(step_context(step, inputs or {}, tools=tools, services=services))
    # The step's whole usage: what it charged call by call (ctx.charge) and what its outcome adds.
    usage = outcome.usage
    for charged, _what, _detail in services.charges:
        usage = usage + charged
    return attrs.evolve(outcome, usage=usage), services


def sent_messages(services: FakeStepServices) -> list[list[dict[str, Any]]]:
    """The messages of every model call, as the before_model_call checks saw them."""
    return [value for point, value in services.safety_calls if point is SafetyPoint.BEFORE_MODEL_CALL]
