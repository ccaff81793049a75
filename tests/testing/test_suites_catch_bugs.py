"""Each conformance suite fails plugins that break its contract (a suite that cannot fail proves
nothing). The broken plugins here are small variations of working ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import attrs
import pytest

# The working samples' modules, imported as modules so pytest does not collect their suites twice.
import test_analyzer_conformance as analyzer_samples
import test_navigator_conformance as navigator_samples
import test_safety_conformance as safety_samples
import test_storage_conformance as storage_samples
import test_strategy_conformance as strategy_samples

from vrooli_core.analysis import Analyzer, Finding, History
from vrooli_core.engine import RunView
from vrooli_core.errors import StorageError
from vrooli_core.execution.deterministic import DeterministicStrategy
from vrooli_core.execution.safety import ALLOW, Redact, SafetyCheck, SafetyRequest, SafetyResult
from vrooli_core.execution.strategy import StepContext
from vrooli_core.model import Decision, Graph, Outcome, RoutineSource, Run, RunStatus, Token
from vrooli_core.storage.base import Commit
from vrooli_core.storage.memory import MemoryStorage
from vrooli_core.testing import FlowNavigator

SEQUENCE = navigator_samples.SEQUENCE
GuardRail = safety_samples.GuardRail
request = safety_samples.request

# -- navigators ----------------------------------------------------------------------------------


class CountingNavigator(FlowNavigator):
    """Keeps a per-run fact in the navigator instance: every second run it moves skips a step."""

    def __init__(self) -> None:
        self.firsts = 0

    def next(self, graph: Graph, view: RunView, token: Token, outcome: Outcome) -> Decision:
        decision = super().next(graph, view, token, outcome)
        if token.location == graph.data["start"][0]:
            self.firsts += 1
            if self.firsts % 2 == 0 and len(decision.create) == 1:
                return super().next(graph, view, Token(token.id, decision.create[0].location), outcome)
        return decision


class MemoryNavigator(FlowNavigator):
    """Remembers runs in a dict of its own, so a restarted engine cannot continue them."""

    runs: ClassVar[dict[str, object]] = {}

    def __init__(self) -> None:
        self.mine: dict[str, object] = {}

    def start(self, graph: Graph, view: RunView) -> Decision:
        self.mine[view.run_id] = object()
        return super().start(graph, view)

    def next(self, graph: Graph, view: RunView, token: Token, outcome: Outcome) -> Decision:
        self.mine[view.run_id]  # KeyError in another engine's navigator
        return super().next(graph, view, token, outcome)


class TupleStateNavigator(FlowNavigator):
    """Keeps a tuple in its state, which comes back from storage as a list."""

    def start(self, graph: Graph, view: RunView) -> Decision:
        d = super().start(graph, view)
        return Decision(create=d.create, state={"visited": ("start",)})


class RenamingNavigator(FlowNavigator):
    def load(self, source: RoutineSource) -> Graph:
        graph = super().load(source)
        return Graph(graph.routine.__class__(graph.routine.id, "other", "hash"), graph.steps, graph.data)


class LenientNavigator(FlowNavigator):
    def load(self, source: RoutineSource) -> Graph:
        try:
            return super().load(source)
        except Exception:  # exactly the bug: swallow what should be reported
            return super().load(RoutineSource(SEQUENCE, source.path))


def navigator_suite(nav: type[FlowNavigator], **overrides: Any) -> navigator_samples.TestFlowNavigator:
    attrs = {"navigator_class": property(lambda self: nav)}
    attrs.update({k: property(lambda self, v=v: v) for k, v in overrides.items()})
    return type("Broken", (navigator_samples.TestFlowNavigator,), attrs)()  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("nav", "test"),
    [
        (CountingNavigator, "test_interleaved_runs_do_not_interfere"),
        (CountingNavigator, "test_interleaved_human_runs_do_not_interfere"),
        (MemoryNavigator, "test_human_task_survives_restart"),
        (TupleStateNavigator, "test_decisions_are_serialisable"),
        (RenamingNavigator, "test_load_gives_graph"),
        (LenientNavigator, "test_invalid_sources_raise_routine_error"),
    ],
)
def test_navigator_suite_catches(nav: type[FlowNavigator], test: str) -> None:
    suite = navigator_suite(nav)
    with pytest.raises((AssertionError, pytest.fail.Exception)):
        getattr(suite, test)()


def test_navigator_suite_sees_parallel_that_is_not() -> None:
    """A "parallel" routine whose branches run one after the other fails the token test."""
    suite = navigator_suite(FlowNavigator, parallel_source=RoutineSource(SEQUENCE, "fake-par.flow.toml"))
    suite.test_parallel_completes()
    with pytest.raises(AssertionError, match="no two tokens"):
        suite.test_parallel_branches_are_tokens()


def test_navigator_suite_wants_the_needle_in_the_message() -> None:
    suite = navigator_suite(
        FlowNavigator, invalid_sources=[(RoutineSource("[steps.a]\nnext = 'x'\n", "a.flow.toml"), "not in the message")]
    )
    with pytest.raises(AssertionError, match="not in the message"):
        suite.test_invalid_sources_raise_routine_error()


def test_optional_sources_skip_naming_the_property() -> None:
    suite = navigator_suite(FlowNavigator, human_source=None)
    with pytest.raises(pytest.skip.Exception, match=r"human_source is None"):
        suite.test_human_task_survives_restart()


def test_delegating_mode_skips_token_tests_with_the_reason() -> None:
    suite = navigator_suite(FlowNavigator, delegating=True)
    for test in ("test_sequence_moves_one_token_at_a_time", "test_parallel_branches_are_tokens"):
        with pytest.raises(pytest.skip.Exception, match="does not apply to delegating navigators"):
            getattr(suite, test)()
    with pytest.raises(AssertionError, match="no delegate step"):
        suite.test_step_kinds_match_mode()


# -- storage -------------------------------------------------------------------------------------


class OldestFirstStorage(MemoryStorage):
    async def list_runs(self, **kw: Any) -> list[Run]:
        return list(reversed(await super().list_runs(**{**kw, "limit": 1_000_000})))[: kw.get("limit", 100)]


class NoDuplicateCheckStorage(MemoryStorage):
    async def commit(self, commit: Commit) -> None:
        if commit.events and commit.events[0].seq <= len(self._d.events.get(commit.run_id, [])):
            raise StorageError("seq taken")  # the wrong error type
        await super().commit(commit)


class UnsortedTimersStorage(MemoryStorage):
    async def find_waits(self, *, due_before: float | None = None, **kw: Any) -> list[Any]:
        found = await super().find_waits(**kw)
        return [w for w in found if due_before is None or (w.spec.due is not None and w.spec.due <= due_before)]


class ForgetfulStorage(MemoryStorage):
    """Loses the wait index when reopened (like a backend that keeps it only in memory)."""

    async def open(self) -> None:
        self._d.waits.clear()


def storage_suite(backend: type[MemoryStorage]) -> storage_samples.TestMemoryStorage:
    return type(
        "Broken",
        (storage_samples.TestMemoryStorage,),
        {"backend_class": property(lambda self: backend), "make_storage": _make(backend)},
    )()  # type: ignore[return-value]


def _make(backend: type[MemoryStorage]) -> Any:
    async def make_storage(self: Any, name: str, converter: Any) -> MemoryStorage:
        return backend(converter=converter, shared=name, verify=True)

    return make_storage


@pytest.mark.parametrize(
    ("backend", "test"),
    [
        (OldestFirstStorage, "test_list_runs_newest_first"),
        (NoDuplicateCheckStorage, "test_repeated_seq_raises_duplicate_event_error"),
        (UnsortedTimersStorage, "test_find_waits_due_before_sorted_by_due"),
        (ForgetfulStorage, "test_engine_run_survives_restarts"),
    ],
)
def test_storage_suite_catches(backend: type[MemoryStorage], test: str) -> None:
    # A duplicate reported as a plain StorageError escapes pytest.raises(DuplicateEventError).
    with pytest.raises((AssertionError, pytest.fail.Exception, StorageError)) as info:
        getattr(storage_suite(backend), test)()
    assert not isinstance(info.value, BaseExceptionGroup), "failures inside an engine must surface unwrapped"


# -- strategies ----------------------------------------------------------------------------------


class UncheckedStrategy(DeterministicStrategy):
    """Calls the tool without the before_tool_call checks."""

    async def execute(self, ctx: StepContext) -> Any:
        return await ctx.tools[ctx.step.config["tool"]].call({**ctx.step.config.get("args", {}), **ctx.inputs}, ctx)


class MutatingStrategy(DeterministicStrategy):
    async def execute(self, ctx: StepContext) -> Any:
        ctx.inputs["b"] = ctx.step.config["args"]["b"]
        ctx.inputs.pop("a")
        return {"sum": 3}


def strategy_suite(cls: type[DeterministicStrategy]) -> strategy_samples.TestDeterministicStrategy:
    return type(
        "Broken", (strategy_samples.TestDeterministicStrategy,), {"strategy_class": property(lambda self: cls)}
    )()  # type: ignore[return-value]


def test_strategy_suite_catches_skipped_safety_point() -> None:
    with pytest.raises(AssertionError, match="before_tool_call"):
        strategy_suite(UncheckedStrategy).test_consults_call_safety_points()


def test_strategy_suite_catches_changed_inputs() -> None:
    with pytest.raises(AssertionError, match="changed the inputs"):
        strategy_suite(MutatingStrategy).test_does_not_change_its_inputs()


def test_strategy_suite_catches_wrong_output() -> None:
    suite = type(
        "Wrong", (strategy_samples.TestDeterministicStrategy,), {"expected_output": property(lambda self: {"sum": 4})}
    )()
    for test in ("test_execute_gives_expected_output", "test_executor_outcome", "test_runs_in_engine"):
        with pytest.raises(AssertionError):
            getattr(suite, test)()


# -- safety checks -------------------------------------------------------------------------------


class InPlaceRedaction(GuardRail):
    name: ClassVar[str] = "in-place"

    async def check(self, request: SafetyRequest) -> SafetyResult:
        result = await super().check(request)
        if isinstance(result, Redact):
            request.value["password"] = "***"  # edits what it was given
        return result


class AllowAll(SafetyCheck):
    name: ClassVar[str] = "allow-all"
    points = GuardRail.points

    async def check(self, request: SafetyRequest) -> SafetyResult:
        return ALLOW


def safety_suite(cls: type[SafetyCheck]) -> safety_samples.TestGuardRail:
    return type("Broken", (safety_samples.TestGuardRail,), {"check_class": property(lambda self: cls)})()  # type: ignore[return-value]


def test_safety_suite_catches_in_place_edits() -> None:
    with pytest.raises(AssertionError, match="changed the value"):
        safety_suite(InPlaceRedaction).test_does_not_change_the_value()


@pytest.mark.parametrize(
    "test", ["test_denies", "test_redacts", "test_requires_approval", "test_engine_applies_the_results"]
)
def test_safety_suite_catches_a_check_that_allows_everything(test: str) -> None:
    with pytest.raises(AssertionError):
        getattr(safety_suite(AllowAll), test)()


def test_safety_suite_wants_samples_at_declared_points() -> None:
    from vrooli_core.execution.safety import SafetyPoint

    suite = type(
        "Elsewhere",
        (safety_samples.TestGuardRail,),
        {"allowed": property(lambda self: [request("x", SafetyPoint.AFTER_MODEL_CALL)])},
    )()
    with pytest.raises(AssertionError, match="after_model_call"):
        suite.test_samples_are_at_points_the_check_declares()


# -- analyzers -----------------------------------------------------------------------------------


class Chatty(Analyzer):
    """Always has something to say, history or not, about whatever routine."""

    name: ClassVar[str] = "chatty"

    async def analyze(self, history: History, routine_id: str | None = None) -> list[Finding]:
        runs = await history.runs()
        return [Finding("note", f"{len(runs)} runs", runs[0].routine.id if runs else "none")]


class Scribbler(Analyzer):
    """Writes into the history it analyzes."""

    name: ClassVar[str] = "scribbler"

    async def analyze(self, history: History, routine_id: str | None = None) -> list[Finding]:
        runs: Sequence[Run] = await history.runs(routine_id)
        for r in runs:
            await history.storage.commit(Commit(r.id, run=attrs.evolve(r, status=RunStatus.CANCELLED)))
        return [Finding("touched", "changed runs", routine_id or "")]


def analyzer_suite(cls: type[Analyzer]) -> analyzer_samples.TestFailureClusters:
    return type(
        "Broken",
        (analyzer_samples.TestFailureClusters,),
        {"analyzer_class": property(lambda self: cls), "proposes": property(lambda self: False)},
    )()  # type: ignore[return-value]


@pytest.mark.parametrize(
    "test",
    ["test_empty_history_gives_nothing", "test_other_routine_gives_nothing_about_this_one", "test_finds_something"],
)
def test_analyzer_suite_catches_chatter(test: str) -> None:
    with pytest.raises(AssertionError):
        getattr(analyzer_suite(Chatty), test)()


def test_analyzer_suite_catches_writes() -> None:
    with pytest.raises(AssertionError, match="changed the stored history"):
        analyzer_suite(Scribbler).test_only_reads_history()
