"""The kernel's Navigator conformance suite, for a delegating navigator: the suite itself skips, and says
why, what does not apply (tokens of the foreign graph's own steps and branches)."""

from __future__ import annotations

from typing import Any

from vrooli_langgraph.navigator import LangGraphNavigator

from vrooli_core.engine import Navigator
from vrooli_core.model import RoutineSource
from vrooli_core.testing.conformance import NavigatorConformance


class TestLangGraphNavigator(NavigatorConformance):
    @property
    def navigator_class(self) -> type[Navigator]:
        return LangGraphNavigator

    @property
    def sequence_source(self) -> RoutineSource:
        return RoutineSource("graphs:chain", None)

    @property
    def human_source(self) -> RoutineSource:
        return RoutineSource("graphs:review", None)

    @property
    def invalid_sources(self) -> list[tuple[RoutineSource, str | None]]:
        return [
            (RoutineSource("graphs:nope", None), "no attribute 'nope'"),
            (RoutineSource("graphs:not_a_graph", None), "not a LangGraph graph"),
            (RoutineSource("graphs_absent:chain", None), "cannot import"),
        ]

    @property
    def inputs(self) -> dict[str, Any]:
        return {"n": 0, "trail": [], "draft": "d", "verdict": ""}

    @property
    def human_answer(self) -> Any:
        return {"verdict": "send"}
