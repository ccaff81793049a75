"""The navigator conformance suite, run against the flow test navigator."""

from __future__ import annotations

from typing import Any

from vrooli_core import tool
from vrooli_core.engine import Navigator
from vrooli_core.model import RoutineSource
from vrooli_core.testing import FlowNavigator
from vrooli_core.testing.conformance import NavigatorConformance


@tool
def double(n: int = 1) -> dict[str, int]:
    return {"n": n * 2}


SEQUENCE = """
id = "seq"
start = "a"
outputs = {properties = {n = {type = "integer"}}}
[steps.a]
kind = "tool"
tool = "double"
next = "b"
[steps.b]
kind = "tool"
tool = "double"
next = "c"
[steps.c]
"""

PARALLEL = """
id = "par"
start = "split"
[steps.split]
next = ["left", "right"]
[steps.left]
kind = "tool"
tool = "double"
next = "join"
[steps.right]
kind = "tool"
tool = "double"
args = {n = 10}
out = {m = "n"}
next = "join"
[steps.join]
join = 2
"""

HUMAN = """
id = "review"
start = "prepare"
[steps.prepare]
kind = "tool"
tool = "double"
next = "review"
[steps.review]
kind = "human"
title = "Review"
next = "finish"
[steps.finish]
kind = "tool"
tool = "double"
"""


class TestFlowNavigator(NavigatorConformance):
    @property
    def navigator_class(self) -> type[Navigator]:
        return FlowNavigator

    @property
    def sequence_source(self) -> RoutineSource:
        return RoutineSource(SEQUENCE, "seq.flow.toml")

    @property
    def parallel_source(self) -> RoutineSource:
        return RoutineSource(PARALLEL, "par.flow.toml")

    @property
    def human_source(self) -> RoutineSource:
        return RoutineSource(HUMAN, "review.flow.toml")

    @property
    def invalid_sources(self) -> list[tuple[RoutineSource, str | None]]:
        return [
            (RoutineSource('start = "a"\n[steps.a]\nnext = "nowhere"\n', "bad.flow.toml"), "nowhere"),
            (RoutineSource('[steps.a]\nkind = "teleport"\n', "kind.flow.toml"), "'a'"),
            (RoutineSource("[steps.a]\nmystery = 1\n", "key.flow.toml"), "mystery"),
            (RoutineSource("this is not toml = = =", "broken.flow.toml"), "invalid TOML"),
            (RoutineSource('{"steps": {}}', "empty.flow.json"), "at least one step"),
        ]

    @property
    def tools(self) -> list[Any]:
        return [double]

    @property
    def inputs(self) -> dict[str, Any]:
        return {"n": 3}
