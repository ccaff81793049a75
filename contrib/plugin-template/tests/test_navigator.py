"""The format's own tests: parsing details the conformance suite cannot know about."""

from __future__ import annotations

import anyio
import pytest
from vrooli_core import Engine, PluginHost, tool
from vrooli_core.errors import RoutineError
from vrooli_core.model import Graph, RoutineSource, Run, StepKind

from vrooli_myformat import plugin
from vrooli_myformat.navigator import MyFormatNavigator


def load(text: str) -> Graph:
    return MyFormatNavigator().load(RoutineSource(text, "t.steps.txt"))


def test_arguments_literals_references_and_target() -> None:
    graph = load('# comment\n\nsum: add a=$x.value b=2 label="two words" flag=true -> total\n')
    step = graph.steps["sum"]
    assert step.kind is StepKind.TOOL and step.line == 3
    assert step.config == {"tool": "add", "args": {"b": 2, "label": "two words", "flag": True}}
    assert step.io.inputs == {"a": "x.value"}
    assert step.io.outputs == {"total": ""}


def test_human_step_takes_the_rest_of_the_line_as_title() -> None:
    graph = load("ok: human Is this right?\n")
    assert graph.steps["ok"].kind is StepKind.HUMAN
    assert graph.steps["ok"].name == "Is this right?"


def test_every_bad_line_is_reported_with_its_number() -> None:
    with pytest.raises(RoutineError) as info:
        load("a: greet name=Ada\nthis is not a step\nb: greet name=$\na: greet\n")
    lines = sorted(p.line for p in info.value.problems)
    assert lines == [2, 3, 4]
    assert "t.steps.txt:2" in str(info.value)
    assert "duplicate step id 'a' (first on line 1)" in str(info.value)


def test_trailing_garbage_is_an_error() -> None:
    with pytest.raises(RoutineError, match="cannot read"):
        load("a: greet name=Ada !!\n")


@tool
def add(a: float, b: float) -> dict[str, float]:
    return {"result": a + b}


def test_runs_in_order_through_the_entry_point_module() -> None:
    host = PluginHost.create(load_entrypoints=False)
    host.register(plugin, "myformat")
    source = RoutineSource("one: add a=1 b=2\ntwo: add a=$result b=10 -> total\n", "sum.steps.txt")

    async def main() -> Run:
        async with Engine.open("memory://", host=host, tools=[add]) as engine:
            return await engine.run(source)

    run = anyio.run(main)
    assert run.status == "completed"
    assert run.outputs == {"result": 3, "total": {"result": 13}}
