"""The strategy conformance suite."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import anyio
import pytest

from vrooli_core.execution.executor import Executor
from vrooli_core.execution.safety import ALLOW, Deny, SafetyCheck, SafetyPoint, SafetyRequest, SafetyResult
from vrooli_core.execution.strategy import Strategy
from vrooli_core.model import Outcome, OutcomeStatus, RunStatus, StepDef, StepKind
from vrooli_core.model.events import StepCompleted
from vrooli_core.testing.conformance._harness import (
    Recorder,
    host_with,
    memory_store,
    open_engine,
    single_step_navigator,
    single_step_source,
)
from vrooli_core.testing.conformance.base import ConformanceSuite
from vrooli_core.testing.fakes import FakeStepServices, step_context

__all__ = ["StrategyConformance"]

#: The safety points a strategy must consult for the calls a step of each kind makes.
CALL_POINTS: dict[StepKind, tuple[SafetyPoint, ...]] = {
    StepKind.MODEL: (SafetyPoint.BEFORE_MODEL_CALL, SafetyPoint.AFTER_MODEL_CALL),
    StepKind.TOOL: (SafetyPoint.BEFORE_TOOL_CALL,),
}


class _DenyAt(SafetyCheck):
    name = "conformance-deny"

    def __init__(self, point: SafetyPoint) -> None:
        self.point = point

    async def check(self, request: SafetyRequest) -> SafetyResult:
        return Deny(f"conformance denies {request.point}") if request.point is self.point else ALLOW


class StrategyConformance(ConformanceSuite, suite=True):
    """Standard tests for a :class:`~vrooli_core.execution.Strategy` plugin.

    Subclass it as ``Test…`` and supply:

    ``strategy_class``   (required) the strategy; the engine instantiates it without arguments
    ``step``             (required) a step the strategy executes (a :class:`StepDef`)
    ``inputs``           the step's inputs (default ``{}``; a mapping, as a run's variables)
    ``expected_output``  (required) what executing ``step`` with ``inputs`` gives
    ``tools``            tools the step calls (functions decorated with ``@tool``)
    ``failing_step``     a step the strategy fails on, with ``failing_inputs`` (``None``: the failure
                         test is skipped, naming the property)
    ``reports_usage``    whether the strategy reports usage (model calls, tokens): model strategies
                         must, so that token and cost limits work

    Strategy instances are shared by every run of an engine, so the same instance executes the
    step several times at once in ``test_concurrent_executions``. A strategy answering from a script
    must keep giving the expected output.
    """

    @property
    def strategy_class(self) -> type[Strategy]:
        raise NotImplementedError(f"{type(self).__name__} must define the strategy_class property")

    @property
    def step(self) -> StepDef:
        raise NotImplementedError(f"{type(self).__name__} must define the step property")

    @property
    def inputs(self) -> Any:
        return {}

    @property
    def expected_output(self) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define the expected_output property")

    @property
    def tools(self) -> list[Any]:
        return []

    @property
    def failing_step(self) -> StepDef | None:
        return None

    @property
    def failing_inputs(self) -> Any:
        return self.inputs

    @property
    def reports_usage(self) -> bool:
        return False

    # -- helpers ------------------------------------------------------------------------------

    def make_strategy(self) -> Strategy:
        return self.strategy_class()

    async def _execute(self, step: StepDef, inputs: Any, services: FakeStepServices | None = None) -> Outcome:
        strategy = self.make_strategy()
        ctx = step_context(step, copy.deepcopy(inputs), tools=self.tools, services=services)
        with anyio.fail_after(self.timeout):
            return await Executor({strategy.name: strategy}).execute(ctx)

    def _assert_expected(self, outcome: Outcome) -> None:
        assert outcome.status is OutcomeStatus.COMPLETED, f"the step did not complete: {outcome.status} {outcome.error}"
        assert outcome.output == self.expected_output, (
            f"output {outcome.output!r} is not the expected {self.expected_output!r}"
        )

    # -- tests --------------------------------------------------------------------------------

    def test_name_and_kinds(self) -> None:
        cls = self.strategy_class
        assert isinstance(getattr(cls, "name", None), str) and cls.name, "a strategy needs a non-empty name"
        assert isinstance(cls.kinds, frozenset) and all(isinstance(k, StepKind) for k in cls.kinds), (
            f"kinds must be a frozenset of StepKind, got {cls.kinds!r}"
        )
        assert isinstance(self.make_strategy(), Strategy)

    def test_executor_picks_the_strategy_for_the_step(self) -> None:
        """With only this strategy installed, the executor routes the sample step to it (by the
        step's strategy name, the auto policy, or the step kinds the strategy declares)."""
        strategy = self.make_strategy()
        assert Executor({strategy.name: strategy}).strategy_for(self.step) is strategy

    def test_registers_through_a_host(self) -> None:
        host = host_with(strategies=[self.strategy_class])
        assert host.strategies()[self.strategy_class.name] is self.strategy_class

    def test_execute_gives_expected_output(self) -> None:
        """Called directly, ``execute`` returns the expected output (or a completed Outcome with it)."""

        async def main() -> Any:
            ctx = step_context(self.step, copy.deepcopy(self.inputs), tools=self.tools)
            with anyio.fail_after(self.timeout):
                return await self.make_strategy().execute(ctx)

        result = self.run_async(main)
        if isinstance(result, Outcome):
            self._assert_expected(result)
        else:
            assert result == self.expected_output, (
                f"execute returned {result!r}, not the expected {self.expected_output!r}"
            )

    def test_executor_outcome(self) -> None:
        """Through the executor the step completes with the expected output, and its usage counts
        the time it took."""
        outcome = self.run_async(self._execute, self.step, self.inputs)
        self._assert_expected(outcome)
        assert outcome.usage.wall_time >= 0.0

    def test_does_not_change_its_inputs(self) -> None:
        async def main() -> Any:
            inputs = copy.deepcopy(self.inputs)
            ctx = step_context(self.step, inputs, tools=self.tools)
            await Executor({"s": self.make_strategy()}).execute(ctx)
            return inputs

        assert self.run_async(main) == self.inputs, "the strategy changed the inputs it was given"

    def test_consults_call_safety_points(self) -> None:
        """Model steps pass through ``before_model_call`` and ``after_model_call``, tool steps through
        ``before_tool_call``; a denial at the first of them fails the step with ``safety_denied``."""
        points = CALL_POINTS.get(self.step.kind)
        if not points:
            pytest.skip(f"a {self.step.kind} step makes no model or tool call the strategy must check")
        services = FakeStepServices()
        self._assert_expected(self.run_async(self._execute, self.step, self.inputs, services))
        consulted = {p for p, _ in services.safety_calls}
        assert set(points) <= consulted, f"the strategy did not consult {sorted(set(points) - consulted)}"
        denied = self.run_async(self._execute, self.step, self.inputs, FakeStepServices([_DenyAt(points[0])]))
        assert denied.status is OutcomeStatus.FAILED and denied.error is not None
        assert denied.error.code == "safety_denied", f"a denial at {points[0]} gave {denied.error}"

    def test_failure_is_a_failed_outcome(self) -> None:
        step = self.failing_step
        if step is None:
            pytest.skip(f"{type(self).__name__}.failing_step is None: no failing step was supplied")
        outcome = self.run_async(self._execute, step, self.failing_inputs)
        assert outcome.status is OutcomeStatus.FAILED, f"failing_step gave {outcome.status} ({outcome.output!r})"
        assert outcome.error is not None and outcome.error.code and outcome.error.message
        assert outcome.error.element == step.id

    def test_reports_usage(self) -> None:
        if not self.reports_usage:
            pytest.skip(f"{type(self).__name__}.reports_usage is False: the strategy makes no model calls")
        services = FakeStepServices()
        usage = self.run_async(self._execute, self.step, self.inputs, services).usage
        for charged, _what, _detail in services.charges:  # reported as it went (ctx.charge)
            usage = usage + charged
        assert usage.model_calls >= 1, f"usage reports no model call: {usage}"
        assert usage.input_tokens + usage.output_tokens > 0, f"usage reports no tokens: {usage}"

    def test_concurrent_executions(self) -> None:
        """One instance executes the step five times at once, each time giving the expected output."""

        async def main() -> list[Outcome]:
            strategy = self.make_strategy()
            executor = Executor({strategy.name: strategy})
            results: list[Outcome] = []

            async def one() -> None:
                ctx = step_context(self.step, copy.deepcopy(self.inputs), tools=self.tools)
                results.append(await executor.execute(ctx))

            with anyio.fail_after(self.timeout):
                async with anyio.create_task_group() as tg:
                    for _ in range(5):
                        tg.start_soon(one)
            return results

        for outcome in self.run_async(main):
            self._assert_expected(outcome)

    def test_runs_in_engine(self) -> None:
        """In a real engine, a run whose only step is the sample step completes with the expected
        output (and, for strategies that report usage, the run's usage counts the call)."""
        assert isinstance(self.inputs, Mapping), "the engine test needs inputs that are a mapping (a run's variables)"
        navigator = single_step_navigator(self.step)

        async def main(url: str) -> tuple[Any, list[Any]]:
            host = host_with(strategies=[self.strategy_class], navigators=[navigator])
            async with open_engine(url, host, tools=self.tools) as engine:
                recorder = Recorder(engine)
                with anyio.fail_after(self.timeout):
                    run = await engine.run(single_step_source(navigator.name), dict(self.inputs))
                return run, recorder.of(run.id)

        with memory_store() as url:
            run, events = self.run_async(main, url)
        assert run.status is RunStatus.COMPLETED, f"the run ended {run.status}: {run.error}"
        done = [e.payload for e in events if isinstance(e.payload, StepCompleted)]
        assert len(done) == 1 and done[0].outcome.output == self.expected_output, done
        if self.reports_usage:
            assert run.usage.model_calls >= 1, f"the run's usage does not count the model call: {run.usage}"
