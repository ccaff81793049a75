"""The navigator conformance suite, run against this plugin's navigator.

The suite's tests come from ``NavigatorConformance``; this class only says which navigator to test
and gives it sample routines. Do not delete or override a suite test to make it pass: mark it
``pytest.mark.xfail(reason=...)`` and say why (the suite checks this).
"""

from __future__ import annotations

from vrooli_core import tool
from vrooli_core.model import RoutineSource
from vrooli_core.testing.conformance import NavigatorConformance

from vrooli_myformat.navigator import MyFormatNavigator


@tool
def greet(name: str) -> dict[str, str]:
    """Greet someone."""
    return {"greeting": f"Hello, {name}!"}


@tool
def shout(text: str) -> dict[str, str]:
    """The text in capitals."""
    return {"loud": text.upper()}


class TestMyFormatConformance(NavigatorConformance):
    @property
    def navigator_class(self) -> type[MyFormatNavigator]:
        return MyFormatNavigator

    @property
    def sequence_source(self) -> RoutineSource:
        return RoutineSource(
            "greet: greet name=Ada\nshout: shout text=$greeting\n",
            "sequence.steps.txt",
        )

    @property
    def parallel_source(self) -> RoutineSource | None:
        return None  # the format runs its steps one after the other

    @property
    def human_source(self) -> RoutineSource | None:
        return RoutineSource(
            "greet: greet name=Ada\napprove: human Is the greeting right?\nshout: shout text=$greeting\n",
            "human.steps.txt",
        )

    @property
    def invalid_sources(self) -> list[tuple[RoutineSource, str | None]]:
        return [
            (RoutineSource("greet greet name=Ada\n", "no-colon.steps.txt"), "greet greet name=Ada"),
            (RoutineSource("a: greet name=Ada\na: shout text=x\n", "twice.steps.txt"), "a"),
            (RoutineSource("a: greet name=$\n", "bad-ref.steps.txt"), "a"),
            (RoutineSource("# only a comment\n", "empty.steps.txt"), None),
        ]

    @property
    def tools(self) -> list[object]:
        return [greet, shout]
