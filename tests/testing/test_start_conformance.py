"""The navigator suite's check of ``starts`` and ``start_due`` passes a navigator with well-formed
start triggers and fails each kind of malformed one."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

# Imported as a module so pytest does not collect its suite twice.
import test_navigator_conformance as navigator_samples

from vrooli_core.model import WaitKind, WaitSpec
from vrooli_core.testing import FlowNavigator


class Starting(FlowNavigator):
    """Every flow routine also starts on message "go" and hourly, three times."""

    starts_given: tuple[WaitSpec, ...] = (
        WaitSpec(WaitKind.MESSAGE, name="go", key="on-go"),
        WaitSpec(WaitKind.TIMER, key="hourly", delay=3600),
        WaitSpec(WaitKind.CONDITION, key="hot", condition="temperature > 30"),
    )

    def starts(self, graph: Any) -> tuple[WaitSpec, ...]:
        return self.starts_given

    def start_due(
        self, graph: Any, start: WaitSpec, now: float, *, previous: float | None = None, fired: int = 0
    ) -> float | None:
        if previous is None:
            return now + 3600
        return None if fired >= 3 else previous + 3600


class HumanStart(Starting):
    starts_given = (WaitSpec(WaitKind.HUMAN, key="ask"),)


class DuplicateKeys(Starting):
    starts_given = (WaitSpec(WaitKind.SIGNAL, name="a", key="s"), WaitSpec(WaitKind.SIGNAL, name="b", key="s"))


class NamelessMessage(Starting):
    starts_given = (WaitSpec(WaitKind.MESSAGE, key="m"),)


class BackwardsCycle(Starting):
    def start_due(
        self, graph: Any, start: WaitSpec, now: float, *, previous: float | None = None, fired: int = 0
    ) -> float | None:
        return now + 3600 if previous is None else previous - 1


class ConditionNotBool(Starting):
    def start_condition_met(self, graph: Any, start: WaitSpec, variables: Any) -> bool:
        return "yes"  # type: ignore[return-value]


_counter = itertools.count()


class WallClockTimer(Starting):
    """Reads something other than its arguments (here a counter, in real life the system clock)."""

    def start_due(
        self, graph: Any, start: WaitSpec, now: float, *, previous: float | None = None, fired: int = 0
    ) -> float | None:
        return now + next(_counter)


def suite(nav: type[FlowNavigator]) -> navigator_samples.TestFlowNavigator:
    attrs = {"navigator_class": property(lambda self: nav)}
    return type("WithStarts", (navigator_samples.TestFlowNavigator,), attrs)()  # type: ignore[return-value]


def test_well_formed_starts_pass() -> None:
    suite(Starting).test_starts_are_well_formed()


@pytest.mark.parametrize(
    ("nav", "needle"),
    [
        (HumanStart, "is a human wait"),
        (DuplicateKeys, "repeats a key"),
        (NamelessMessage, "has no name"),
        (BackwardsCycle, "not later"),
        (WallClockTimer, "not deterministic"),
        (ConditionNotBool, "not a bool"),
    ],
)
def test_malformed_starts_fail(nav: type[FlowNavigator], needle: str) -> None:
    with pytest.raises(AssertionError, match=needle):
        suite(nav).test_starts_are_well_formed()
