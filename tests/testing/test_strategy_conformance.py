"""The strategy conformance suite, run against the builtin deterministic strategy and the fake model."""

from __future__ import annotations

from typing import Any

from vrooli_core import tool
from vrooli_core.execution.deterministic import DeterministicStrategy
from vrooli_core.execution.strategy import Strategy
from vrooli_core.model import StepDef, StepKind, Usage
from vrooli_core.testing.conformance import StrategyConformance
from vrooli_core.testing.fakes import FakeModelStrategy


@tool
def add(a: int, b: int) -> dict[str, int]:
    """Add two numbers."""
    return {"sum": a + b}


class TestDeterministicStrategy(StrategyConformance):
    @property
    def strategy_class(self) -> type[Strategy]:
        return DeterministicStrategy

    @property
    def step(self) -> StepDef:
        return StepDef("add", kind=StepKind.TOOL, config={"tool": "add", "args": {"b": 2}})

    @property
    def inputs(self) -> dict[str, Any]:
        return {"a": 1}

    @property
    def expected_output(self) -> Any:
        return {"sum": 3}

    @property
    def tools(self) -> list[Any]:
        return [add]

    @property
    def failing_step(self) -> StepDef:
        return StepDef("bad", kind=StepKind.TOOL, config={"tool": "add", "args": {"b": "two"}})


class TestFakeModelStrategy(StrategyConformance):
    model = FakeModelStrategy(default={"answer": "Paris"}, usage=Usage(input_tokens=12, output_tokens=3, cost=0.001))

    @property
    def strategy_class(self) -> type[Strategy]:
        return self.model.strategy_classes()[0]

    @property
    def step(self) -> StepDef:
        return StepDef("ask", kind=StepKind.MODEL, config={"prompt": "What is the capital of France?"})

    @property
    def inputs(self) -> dict[str, Any]:
        return {"country": "France"}

    @property
    def expected_output(self) -> Any:
        return {"answer": "Paris"}

    @property
    def failing_step(self) -> StepDef:
        return StepDef("ask", kind=StepKind.MODEL, config={"output_schema": {"type": "object", "required": ["city"]}})

    @property
    def reports_usage(self) -> bool:
        return True
