"""The kernel's strategy conformance suite, for both strategies, on the offline models."""

from __future__ import annotations

from typing import Any

from vrooli_litellm.conversational import ConversationalStrategy
from vrooli_litellm.reasoning import ReasoningStrategy

from vrooli_core import tool
from vrooli_core.execution.strategy import Strategy
from vrooli_core.model import StepDef, StepKind
from vrooli_core.testing.conformance import StrategyConformance


@tool
def lookup(city: str) -> dict[str, str]:
    """The country of a city."""
    return {"country": {"Paris": "France"}.get(city, "?")}


class TestConversational(StrategyConformance):
    @property
    def strategy_class(self) -> type[Strategy]:
        return ConversationalStrategy

    @property
    def step(self) -> StepDef:
        return StepDef("ask", kind=StepKind.MODEL, config={"model": "offline/echo", "prompt": "Capital of {country}?"})

    @property
    def inputs(self) -> dict[str, Any]:
        return {"country": "France"}

    @property
    def expected_output(self) -> Any:
        return "Capital of France?"

    @property
    def failing_step(self) -> StepDef:
        return StepDef("ask", kind=StepKind.MODEL, config={"model": "offline/echo", "prompt": "Capital of {city}?"})

    @property
    def reports_usage(self) -> bool:
        return True


class TestReasoning(StrategyConformance):
    @property
    def strategy_class(self) -> type[Strategy]:
        return ReasoningStrategy

    @property
    def step(self) -> StepDef:
        script = [
            {"tool_calls": [{"name": "lookup", "arguments": {"city": "Paris"}}]},
            '{"country": "France"}',
        ]
        schema = {"type": "object", "properties": {"country": {"type": "string"}}, "required": ["country"]}
        config = {"model": "offline/scripted", "prompt": "Where is {city}?", "tools": ["lookup"], "script": script}
        return StepDef("where", kind=StepKind.MODEL, config={**config, "output_schema": schema})

    @property
    def inputs(self) -> dict[str, Any]:
        return {"city": "Paris"}

    @property
    def expected_output(self) -> Any:
        return {"country": "France"}

    @property
    def tools(self) -> list[Any]:
        return [lookup]

    @property
    def failing_step(self) -> StepDef:
        config = {**self.step.config, "script": ['{"country": 1}'] * 3}
        return StepDef("where", kind=StepKind.MODEL, config=config)

    @property
    def reports_usage(self) -> bool:
        return True
