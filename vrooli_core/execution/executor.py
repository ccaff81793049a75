"""The executor: picks a step's strategy, applies safety checks and the timeout, turns what happens
into an :class:`Outcome`. Retries and suspension are the engine's (they are recorded as events)."""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import anyio

from vrooli_core.errors import UnknownPluginError
from vrooli_core.execution.safety import ApprovalRequired, SafetyDenied, SafetyPoint
from vrooli_core.execution.strategy import StepContext, Strategy
from vrooli_core.model import NO_USAGE, ErrorInfo, Outcome, OutcomeStatus, StepDef, StepKind, WaitKind, WaitSpec

log = logging.getLogger("vrooli.execution")

#: Seconds below which a step's wall time is not recorded (longer ones are, to the microsecond): an
#: in-process step takes microseconds, and a number on each of its stored events would be noise.
MIN_WALL_TIME = 0.001

#: Resolves a step whose strategy is ``auto`` (or unset) to a strategy name; ``None`` means "by kind".
AutoPolicy = Callable[[StepDef], str | None]


def default_auto_policy(step: StepDef) -> str | None:
    """Model steps with tools or an output schema reason; other model steps converse."""
    if step.kind is StepKind.MODEL:
        return "reasoning" if step.config.get("tools") or step.config.get("output_schema") else "conversational"
    return None


class Executor:
    """``stable``: the policy gives the same answer for the same step every time (no plugin decides
    it per call), so each step's strategy is resolved once and remembered."""

    def __init__(self, strategies: Mapping[str, Strategy], auto_policy: AutoPolicy = default_auto_policy, *, stable: bool = True) -> None:
        self.strategies = strategies
        self.auto_policy = auto_policy
        self.stable = stable
        self._resolved: dict[int, tuple[StepDef, Strategy]] = {}
        self._by_kind: dict[StepKind, Strategy] = {}
        for strategy in strategies.values():
            for kind in strategy.kinds:
                self._by_kind.setdefault(kind, strategy)

    def strategy_for(self, step: StepDef) -> Strategy:
        """The strategy that executes ``step``: the one it names, else the auto policy's, else the
        one registered for its kind."""
        if self.stable:
            known = self._resolved.get(id(step))
            if known is not None and known[0] is step:
                return known[1]
            strategy = self._resolve(step)
            if len(self._resolved) > 100_000:
                self._resolved.clear()
            self._resolved[id(step)] = (step, strategy)
            return strategy
        return self._resolve(step)

    def _resolve(self, step: StepDef) -> Strategy:
        name = step.strategy
        if name in (None, "auto"):
            name = self.auto_policy(step)
        if name is not None:
            try:
                return self.strategies[name]
            except KeyError:
                raise UnknownPluginError("strategy", name, list(self.strategies)) from None
        try:
            return self._by_kind[step.kind]
        except KeyError:
            raise UnknownPluginError("strategy for step kind", str(step.kind), list(self.strategies)) from None

    async def aclose(self) -> None:
        """Let the strategies release what they hold (clients, connections, processes): each one's
        ``aclose()``, if it has one, when the engine closes. A failure there is not the engine's; the
        others are closed all the same."""
        for strategy in self.strategies.values():
            close = getattr(strategy, "aclose", None)
            if close is None:
                continue
            try:
                await _maybe_await(close())
            except Exception:  # plugin boundary: a strategy that fails to close
                log.exception("strategy %r failed to close", strategy.name)

    async def execute(self, ctx: StepContext, runner: Callable[[StepContext], Any] | None = None) -> Outcome:
        """Execute ``ctx.step`` with its strategy (or ``runner``: a delegating navigator's ``execute``)."""
        step = ctx.step
        started = time.perf_counter()
        try:
            run = runner or self.strategy_for(step).execute
            ctx.inputs = await ctx.check(SafetyPoint.BEFORE_STEP, ctx.inputs)
            if step.timeout is not None:
                with anyio.fail_after(step.timeout):
                    result = await _maybe_await(run(ctx))
            else:
                result = await _maybe_await(run(ctx))
            outcome = result if isinstance(result, Outcome) else Outcome(output=result)
            if outcome.status is OutcomeStatus.COMPLETED:
                outcome = _validate_output(step, outcome)
            if outcome.status is OutcomeStatus.COMPLETED:
                output = await ctx.check(SafetyPoint.AFTER_STEP, outcome.output)
                if output is not outcome.output:
                    outcome = Outcome(outcome.status, output, outcome.error, outcome.usage, outcome.wait, outcome.trigger)
        except SafetyDenied as exc:
            outcome = Outcome.failure(exc.code, str(exc), element=step.id, type="SafetyDenied")
        except ApprovalRequired as exc:
            outcome = Outcome(
                status=OutcomeStatus.SUSPENDED,
                wait=WaitSpec(
                    kind=WaitKind.HUMAN,
                    name=f"Approve step {step.name or step.id}",
                    key=f"approval:{exc.check}",
                    options=("approve", "reject"),
                    form={"approval": True, "check": exc.check, "point": exc.point, "reason": exc.reason},
                ),
            )
        except TimeoutError:
            outcome = Outcome.failure("timeout", f"step {step.id!r} timed out after {step.timeout} s", element=step.id)
        except anyio.get_cancelled_exc_class():
            raise
        except Exception as exc:  # plugin boundary: a strategy's or tool's failure is the step's outcome
            outcome = Outcome(status=OutcomeStatus.FAILED, error=ErrorInfo.from_exception(exc, element=step.id))
        usage = outcome.usage
        if ctx.charged is not NO_USAGE:  # recorded already, as the step went
            usage = usage.remainder(ctx.charged)
            outcome = Outcome(outcome.status, outcome.output, outcome.error, usage, outcome.wait, outcome.trigger)
        wall_time = usage.wall_time + time.perf_counter() - started
        if wall_time < MIN_WALL_TIME:
            if not usage.wall_time:
                return outcome
            wall_time = 0.0
        return Outcome(
            outcome.status,
            outcome.output,
            outcome.error,
            type(usage)(usage.input_tokens, usage.output_tokens, usage.cost, usage.credits, round(wall_time, 6), usage.model_calls),
            outcome.wait,
            outcome.trigger,
        )


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _validate_output(step: StepDef, outcome: Outcome) -> Outcome:
    schema = step.config.get("output_schema")
    if not schema:
        return outcome
    from jsonschema.validators import validator_for

    validator = validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(outcome.output), key=lambda e: list(e.path))
    if not errors:
        return outcome
    problems = "; ".join((".".join(map(str, e.path)) + ": " if e.path else "") + e.message for e in errors)
    return Outcome.failure("invalid_output", f"output of step {step.id!r} does not match its schema: {problems}", element=step.id)
