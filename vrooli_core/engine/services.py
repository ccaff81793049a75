"""What the engine lends a running step: safety checks, transient events, foreign sub-steps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from vrooli_core.engine.mover import StepStopped
from vrooli_core.execution.safety import SafetyCheck, SafetyPoint, apply_checks
from vrooli_core.model import Event, Outcome, RunStatus, Usage
from vrooli_core.model.events import EVENT_TYPES, SafetyChecked, SubstepRecorded, UsageCharged

if TYPE_CHECKING:
    from vrooli_core.engine.engine import Engine
    from vrooli_core.engine.runtime import RunRuntime
    from vrooli_core.execution.strategy import StepContext


class StepServicesMixin:
    def _live(self: Engine, ctx: StepContext) -> RunRuntime:
        """The runtime the step belongs to. A step of a runtime this engine dropped meanwhile (its
        commit failed, another engine took the run) is stopped: whatever it would record is not
        this runtime's to record any more."""
        rt = self._runs.get(ctx.run_id)
        if rt is None or rt.broken:
            raise StepStopped(f"run {ctx.run_id} is no longer moved by this engine")
        return rt

    async def safety(self: Engine, ctx: StepContext, point: SafetyPoint, value: Any, tool: str | None = None) -> Any:
        checks = self._checks_at.get(point)
        if not checks:
            return value
        rt = self._live(ctx)

        async def record(check: SafetyCheck, result: Any) -> None:
            async with rt.lock:
                await self._record(rt, SafetyChecked(point.value, check.name, result.action, result.reason, ctx.step.id, ctx.token.id))

        return await apply_checks(checks, ctx, point, value, approved=ctx.token.id in rt.state.approved, record=record, tool=tool)

    def publish(self: Engine, ctx: StepContext, payload: Any) -> None:
        if self.bus:
            self.bus.publish(Event(ctx.run_id, 0, self.clock.now(), payload))

    async def substep(self: Engine, ctx: StepContext, name: str, inputs: Any) -> None:
        rt = self._live(ctx)
        if rt.state.status is not RunStatus.RUNNING or ctx.token.id not in rt.state.tokens:
            raise StepStopped(f"run {ctx.run_id} is {rt.state.status}")
        hit = self._limit_hit(rt.state)
        if hit is not None:
            await self._limit_reached(rt, *hit)
            raise StepStopped(f"run {ctx.run_id}: limit {hit[0]} reached before {name!r}")
        await ctx.check(SafetyPoint.BEFORE_STEP, inputs)

    async def charge(self: Engine, ctx: StepContext, usage: Usage, what: str, detail: Mapping[str, Any]) -> None:
        rt = self._live(ctx)
        async with rt.lock:
            # Held for the run's next commit, like a side-effect-free step's completion (the step's
            # own completion, at the latest): a charge changes nothing anyone outside the run sees.
            events: list[Event] = []
            fx = self._apply(rt, UsageCharged(ctx.token.id, ctx.step.id, usage, what, dict(detail)), events)
            await self._commit(rt, events, fx, hold=True)
        hit = self._limit_hit(rt.state)
        if hit is not None:
            await self._limit_reached(rt, *hit)
            raise StepStopped(f"run {ctx.run_id}: limit {hit[0]} reached during step {ctx.step.id!r}")

    async def note(self: Engine, ctx: StepContext, payload: Any) -> None:
        if getattr(type(payload), "type", None) not in EVENT_TYPES:
            raise TypeError(f"step {ctx.step.id!r}: {type(payload).__name__} is not a registered event type (event_type)")
        rt = self._live(ctx)
        async with rt.lock:
            events: list[Event] = []
            await self._commit(rt, events, self._apply(rt, payload, events), hold=True)

    async def substep_done(self: Engine, ctx: StepContext, name: str, outcome: Outcome) -> None:
        rt = self._live(ctx)
        async with rt.lock:
            await self._record(rt, SubstepRecorded(ctx.token.id, ctx.step.id, name, outcome))
