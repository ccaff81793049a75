"""The kernel's Navigator conformance suite, run against the BPMN navigator."""

from __future__ import annotations

from bpmn_builder import chain, flow, model, source
from vrooli_bpmn.navigator import BpmnNavigator

from vrooli_core.model import RoutineSource
from vrooli_core.testing.conformance import NavigatorConformance


class TestBpmnNavigatorConformance(NavigatorConformance):
    @property
    def navigator_class(self) -> type:
        return BpmnNavigator

    @property
    def sequence_source(self) -> RoutineSource:
        return source(model('<startEvent id="s"/><task id="a"/><task id="b"/><endEvent id="e"/>' + chain("s", "a", "b", "e")), "seq")

    @property
    def parallel_source(self) -> RoutineSource:
        return source(
            model(
                '<startEvent id="s"/><parallelGateway id="fork"/><task id="a"/><task id="b"/><parallelGateway id="join"/><endEvent id="e"/>'
                + flow("f0", "s", "fork") + flow("f1", "fork", "a") + flow("f2", "fork", "b")
                + flow("f3", "a", "join") + flow("f4", "b", "join") + flow("f5", "join", "e")
            ),
            "par",
        )

    @property
    def human_source(self) -> RoutineSource:
        return source(model('<startEvent id="s"/><userTask id="u"/><endEvent id="e"/>' + chain("s", "u", "e")), "human")

    @property
    def invalid_sources(self) -> list[tuple[RoutineSource, str | None]]:
        return [
            (source(model('<startEvent id="s"/>' + flow("f", "s", "ghost")), "dangling"), "ghost"),
            (source(model('<startEvent id="s"/><complexGateway id="cx"/>' + chain("s", "cx")), "complex"), "cx"),
            (source("<definitions", "broken"), "malformed XML"),
        ]
