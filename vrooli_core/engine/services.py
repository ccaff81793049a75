"""What the engine lends a running step: safety checks, transient events, foreign sub-steps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vrooli_core.engine.mover import StepStopped
from vrooli_core.execution.safety import SafetyCheck, SafetyPoint, apply_checks
from vrooli_core.model import Event, Outcome, RunStatus
from vrooli_core.model.events import SafetyChecked, SubstepRecorded

if TYPE_CHECKING:
    from vrooli_core.engine.engine import Engine
    from vrooli_core.execution.strategy import StepContext


class StepServicesMixin:
    async def safety(self: Engine, ctx: StepContext, point: SafetyPoint, value: Any) -> Any:
        if not self.safety_checks:
            return value
        rt = self._runs[ctx.run_id]

        async def record(check: SafetyCheck, result: Any) -> None:
            async with rt.lock:
                await self._record(rt, SafetyChecked(point.value, check.name, result.action, result.reason, ctx.step.id, ctx.token.id))

        return await apply_checks(self.safety_checks, ctx, point, value, approved=ctx.token.id in rt.state.approved, record=record)

    def publish(self: Engine, ctx: StepContext, payload: Any) -> None:
        if self.bus:
            self.bus.publish(Event(ctx.run_id, 0, self.clock.now(), payload))

    async def substep(self: Engine, ctx: StepContext, name: str, inputs: Any) -> None:
        rt = self._runs[ctx.run_id]
        if rt.state.status is not RunStatus.RUNNING or ctx.token.id not in rt.state.tokens:
            raise StepStopped(f"run {ctx.run_id} is {rt.state.status}")
        hit = self._limit_hit(rt.state)
        if hit is not None:
            await self._limit_reached(rt, *hit)
            raise StepStopped(f"run {ctx.run_id}: limit {hit[0]} reached before {name!r}")
        await ctx.check(SafetyPoint.BEFORE_STEP, inputs)

    async def substep_done(self: Engine, ctx: StepContext, name: str, outcome: Outcome) -> None:
        rt = self._runs[ctx.run_id]
        async with rt.lock:
            await self._record(rt, SubstepRecorded(ctx.token.id, ctx.step.id, name, outcome))
