"""Path choices and child runs (subroutines)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from vrooli_core.coordination.permissions import routine_denied
from vrooli_core.engine.paths import PathPolicy
from vrooli_core.errors import NotFoundError, VrooliError
from vrooli_core.model import (
    ErrorInfo,
    Limits,
    Outcome,
    OutcomeStatus,
    RunStatus,
    StepDef,
    Token,
    Wait,
    WaitKind,
    WaitSpec,
)
from vrooli_core.model.run import UNFINISHED

if TYPE_CHECKING:
    from vrooli_core.engine.engine import Engine
    from vrooli_core.engine.runtime import RunRuntime

_CHILD_IDS = uuid.UUID("6f1d8a52-9c1e-4d4b-8f57-4a3c1b0e2d77")


class ChildRuns:
    async def _choose(self: Engine, rt: RunRuntime, wait: Wait) -> None:
        """Answer a path choice by the engine's policy; ``manual`` leaves it as a human task."""
        options = wait.spec.options
        if not options or self.path_policy is PathPolicy.MANUAL:
            return
        answer: str | None = options[0]
        if self.path_policy is PathPolicy.MODEL:
            selectors = self.host.path_selectors()
            if not selectors:
                return  # no selector installed: a person decides
            selector = self._selector or next(iter(selectors.values()))()
            self._selector = selector
            try:
                answer = await selector.select(wait, options, rt.view.variables)
            except Exception:  # plugin boundary: a failing model hands the choice to a person
                answer = None
            if answer not in options:
                return
        await self._resolve(rt, wait.id, Outcome(output=answer))

    async def _subroutine_step(self: Engine, rt: RunRuntime, token: Token, step: StepDef, attempt: int, inputs: Any) -> Outcome:
        """Start the child run of a ``subroutine`` step; the step suspends until the child finishes.

        The child's id is derived from (run, token, step, attempt), so re-executing the step after a
        crash finds the child it already started instead of starting another.
        """
        st = rt.state
        child_id = uuid.uuid5(_CHILD_IDS, f"{st.run_id}:{token.id}:{step.id}:{attempt}").hex
        try:
            await self.storage.get_run(child_id)
        except NotFoundError:
            routine_id = step.config.get("routine")
            if not routine_id:
                return Outcome.failure("routine_error", f"subroutine step {step.id!r} names no routine", element=step.id)
            if self._checks_routines:
                denied = routine_denied(st.labels, str(routine_id))
                if denied is not None:
                    return Outcome.failure("safety_denied", denied, element=step.id, type="SafetyDenied")
            try:
                version = step.config.get("version")
                routine = await self.graph(routine_id, str(version)) if version else None
                definition = routine.routine if routine else await self.latest(routine_id)
                await self._create(
                    definition,
                    inputs,
                    limits=step.config.get("limits") or Limits(on_limit=st.limits.on_limit),
                    labels=st.labels,
                    run_id=child_id,
                    parent=(st.run_id, token.id),
                )
            except VrooliError as exc:
                return Outcome(status=OutcomeStatus.FAILED, error=ErrorInfo.from_exception(exc, element=step.id))
        return Outcome(status=OutcomeStatus.SUSPENDED, wait=WaitSpec(kind=WaitKind.SUBRUN, name=child_id, key=step.id))

    async def _start_child_run(self: Engine, rt: RunRuntime, wait: Wait) -> None:
        child = await self._runtime(wait.spec.name, own=True)
        if child.state.status.finished:
            await self._notify_parent(child)
        else:
            await self._kick(child)

    async def _on_finished(self: Engine, rt: RunRuntime) -> None:
        st = rt.state
        if st.status in (RunStatus.CANCELLED, RunStatus.FAILED):
            for child in await self.storage.list_runs(parent_run_id=st.run_id, status=UNFINISHED, limit=1_000_000):
                child_rt = await self._runtime(child.id, own=True)
                if not child_rt.state.status.finished:
                    await self.cancel(child.id, f"parent run {st.run_id} {st.status}")
        await self._notify_parent(rt)

    async def _notify_parent(self: Engine, rt: RunRuntime) -> None:
        st = rt.state
        if st.parent_run_id is None:
            return
        parent = await self._runtime(st.parent_run_id, own=True)
        waits = [w for w in parent.state.waits.values() if w.spec.kind is WaitKind.SUBRUN and w.spec.name == st.run_id]
        if not waits or parent.state.status.finished:
            return
        if st.status is RunStatus.COMPLETED:
            outcome = Outcome(output=dict(st.outputs or {}), usage=st.usage)
        else:
            error = st.error or ErrorInfo(code="cancelled", message=f"child run {st.run_id} was cancelled")
            outcome = Outcome(status=OutcomeStatus.FAILED, error=error, usage=st.usage)
        await self._resolve(parent, waits[0].id, outcome)
        await self._kick(parent)
