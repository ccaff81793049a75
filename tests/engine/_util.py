"""Helpers for the engine tests."""

from __future__ import annotations

from typing import Any

from vrooli_core.engine import Navigator
from vrooli_core.model import Decision, Emit, Event, Graph, RoutineDef, RoutineSource, StepDef, WaitKind, WaitSpec, goto
from vrooli_core.plugins import hookimpl

#: A run that waits for message ``paid`` correlated by its ``order_id`` input, then ends.
MESSAGE = """
id = "order"
start = "placed"
[steps.placed]
wait = {message = "paid", correlation = "order_id"}
next = "ship"
[steps.ship]
"""

#: A run that waits for signal ``go``, then ends.
SIGNAL = """
id = "sig"
start = "hold"
[steps.hold]
wait = {signal = "go"}
next = "after"
[steps.after]
"""


def flow(text: str, name: str = "t") -> RoutineSource:
    return RoutineSource(text, f"{name}.flow.toml")


def types(events: list[Event]) -> list[str]:
    return [e.type for e in events]


def payloads(events: list[Event], type_: str) -> list[Any]:
    return [e.payload for e in events if e.type == type_]


class Thrower(Navigator):
    """Throws what its source names (``"kind name correlation"``, ``-`` for none), then ends. A
    source with a fourth word, ``starts``, also declares a message start of that name."""

    name = "thrower"
    suffixes = (".throw",)

    def load(self, source: RoutineSource) -> Graph:
        words = source.text.split()
        return Graph(RoutineDef("-".join(words), self.name, source.content_hash), {"s": StepDef("s")}, data=words)

    def starts(self, graph: Graph) -> tuple[WaitSpec, ...]:
        _kind, name, *rest = graph.data
        return (WaitSpec(WaitKind.MESSAGE, name=name, key="on-" + name),) if rest[1:] == ["starts"] else ()

    def start(self, graph: Graph, view: Any) -> Decision:
        return goto("s")

    def next(self, graph: Graph, view: Any, token: Any, outcome: Any) -> Decision:
        kind, name, corr, *_ = graph.data
        if view.start is not None:  # started by its own message: ends without throwing
            return Decision()
        return Decision(emit=(Emit(WaitKind(kind), name, {"from": view.run_id}, None if corr == "-" else corr),))


class ThrowerPlugin:
    @hookimpl
    def vrooli_register_navigators(self) -> list[type]:
        return [Thrower]
