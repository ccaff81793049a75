"""A run's state as a fold over its events.

The live engine and a resume from storage use the same reducer, :func:`apply`, so a run rebuilt from
its log is exactly the run that was recorded. ``apply`` returns the effects a live engine acts on
(tokens that became ready, waits to index or drop, running tokens to cancel).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs
import cattrs

from vrooli_core.model import (
    NO_USAGE,
    Decision,
    ErrorInfo,
    Event,
    Limits,
    RoutineRef,
    Run,
    RunStatus,
    Token,
    Usage,
    Wait,
    WaitSpec,
)
from vrooli_core.model.events import (
    Decided,
    RunCancelled,
    RunCompleted,
    RunCreated,
    RunFailed,
    RunPaused,
    RunResumed,
    StepCompleted,
    StepRetrying,
    StepStarted,
    StepSuspended,
    SubstepRecorded,
    UsageCharged,
    VariablesSet,
    WaitResolved,
)


@attrs.define(slots=True, eq=False)
class Effects:
    ready: list[str] = attrs.Factory(list)
    cancelled: list[str] = attrs.Factory(list)
    new_waits: list[Wait] = attrs.Factory(list)
    dropped_waits: list[str] = attrs.Factory(list)
    #: Messages and signals the applied decisions throw (delivered by the live engine, never on replay).
    emits: list[Any] = attrs.Factory(list)
    #: Their OUTBOX entries, once committed (``vrooli_core.engine.outbox``).
    outbox: list[Wait] = attrs.Factory(list)
    #: The run's status changed (its storage record must be rewritten).
    status_changed: bool = False


@attrs.define(slots=True, eq=False)
class RunState:
    run_id: str
    routine: RoutineRef
    created_at: float
    inputs: dict[str, Any] = attrs.Factory(dict)
    limits: Limits = Limits()
    parent_run_id: str | None = None
    parent_token: str | None = None
    labels: dict[str, str] = attrs.Factory(dict)
    start: str | None = None
    status: RunStatus = RunStatus.RUNNING
    tokens: dict[str, Token] = attrs.Factory(dict)
    variables: dict[str, Any] = attrs.Factory(dict)
    nav: dict[str, Any] = attrs.Factory(dict)
    waits: dict[str, Wait] = attrs.Factory(dict)
    token_waits: dict[str, list[str]] = attrs.Factory(dict)
    #: Tokens whose step started and has not completed: token id -> attempt.
    started: dict[str, int] = attrs.Factory(dict)
    #: Tokens a person approved after a safety check asked (their step re-runs without asking again).
    approved: set[str] = attrs.Factory(set)
    steps: int = 0
    usage: Usage = NO_USAGE
    seq: int = 0
    token_counter: int = 0
    wait_counter: int = 0
    outputs: dict[str, Any] | None = None
    error: ErrorInfo | None = None
    updated_at: float = 0.0

    @classmethod
    def created(cls, run_id: str, at: float, ev: RunCreated) -> RunState:
        return cls(
            run_id=run_id,
            routine=ev.routine,
            created_at=at,
            inputs=dict(ev.inputs),
            limits=ev.limits,
            parent_run_id=ev.parent_run_id,
            parent_token=ev.parent_token,
            labels=dict(ev.labels),
            variables=dict(ev.inputs),
            updated_at=at,
            start=ev.start,
        )

    def ready_tokens(self) -> list[str]:
        """Tokens that can run now: not parked on a blocking wait (in creation order)."""
        waits = self.waits
        return [
            tid
            for tid in self.tokens
            if not any(waits[w].spec.blocking for w in self.token_waits.get(tid, ()))
        ]

    def summary(self) -> Run:
        return Run(
            id=self.run_id,
            routine=self.routine,
            status=self.status,
            inputs=self.inputs,
            outputs=self.outputs,
            limits=self.limits,
            usage=self.usage,
            steps=self.steps,
            error=self.error,
            parent_run_id=self.parent_run_id,
            parent_token=self.parent_token,
            labels=self.labels,
            created_at=self.created_at,
            updated_at=self.updated_at,
            last_seq=self.seq,
        )

    # -- snapshots -----------------------------------------------------------------------------

    def to_snapshot(self, conv: cattrs.Converter) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in attrs.fields(RunState)}
        data["approved"] = sorted(self.approved)
        return conv.unstructure(data, unstructure_as=dict[str, Any]) | {
            "routine": conv.unstructure(self.routine),
            "limits": conv.unstructure(self.limits),
            "usage": conv.unstructure(self.usage),
            "tokens": {k: conv.unstructure(v) for k, v in self.tokens.items()},
            "waits": {k: conv.unstructure(v) for k, v in self.waits.items()},
            "error": conv.unstructure(self.error) if self.error else None,
        }

    @classmethod
    def from_snapshot(cls, conv: cattrs.Converter, data: dict[str, Any]) -> RunState:
        d = dict(data)
        d["routine"] = conv.structure(d["routine"], RoutineRef)
        d["limits"] = conv.structure(d["limits"], Limits)
        d["usage"] = conv.structure(d["usage"], Usage)
        d["status"] = RunStatus(d["status"])
        d["tokens"] = {k: conv.structure(v, Token) for k, v in d["tokens"].items()}
        d["waits"] = {k: conv.structure(v, Wait) for k, v in d["waits"].items()}
        d["error"] = conv.structure(d["error"], ErrorInfo) if d.get("error") else None
        d["approved"] = set(d["approved"])
        return cls(**d)


# -- the reducer ---------------------------------------------------------------------------------


def apply(state: RunState, event: Event) -> Effects:
    """Fold one event into ``state`` and return what changed."""
    fx = Effects()
    state.seq = event.seq
    state.updated_at = event.at
    handler = _HANDLERS.get(type(event.payload))
    if handler is not None:
        handler(state, event, fx)
    return fx


def _add_wait(state: RunState, token: str, spec: WaitSpec, at: float, fx: Effects) -> bool:
    if spec.delay is not None and spec.due is None:
        spec = attrs.evolve(spec, due=at + spec.delay)
    state.wait_counter += 1
    wait = Wait(f"{state.run_id}-w{state.wait_counter}", state.run_id, token, spec, at)
    state.waits[wait.id] = wait
    state.token_waits.setdefault(token, []).append(wait.id)
    fx.new_waits.append(wait)
    return spec.blocking


def _drop_waits(state: RunState, token: str, fx: Effects) -> None:
    for wid in state.token_waits.pop(token, ()):
        del state.waits[wid]
        fx.dropped_waits.append(wid)


def _remove_token(state: RunState, token: str, fx: Effects) -> None:
    if state.tokens.pop(token, None) is not None:
        state.started.pop(token, None)
        state.approved.discard(token)
        if token in state.token_waits:
            _drop_waits(state, token, fx)


def apply_decision(state: RunState, d: Decision, consumed: str | None, at: float, fx: Effects) -> None:
    if consumed is not None:
        _remove_token(state, consumed, fx)
    if d.variables:
        state.variables.update(d.variables)
    if d.state:
        state.nav.update(d.state)
    for key in d.forget:
        state.nav.pop(key, None)
    for tid in d.cancel:
        if tid in state.tokens:
            _remove_token(state, tid, fx)
            fx.cancelled.append(tid)
    for nt in d.create:
        state.token_counter += 1
        tid = f"t{state.token_counter}"
        state.tokens[tid] = Token(tid, nt.location, nt.scope, nt.data, nt.locals)
        blocking = False
        if nt.wait is not None:
            blocking = _add_wait(state, tid, nt.wait, at, fx)
            for spec in nt.also_wait:
                blocking = _add_wait(state, tid, spec, at, fx) or blocking
        if not blocking:
            fx.ready.append(tid)
    for spec in d.waits:
        _add_wait(state, spec.token, spec, at, fx)  # type: ignore[arg-type]
    if d.emit:
        fx.emits.extend(d.emit)


def _finish(state: RunState, status: RunStatus, fx: Effects) -> None:
    state.status = status
    fx.status_changed = True
    for wid in list(state.waits):
        fx.dropped_waits.append(wid)
    state.waits.clear()
    state.token_waits.clear()
    if status is not RunStatus.FAILED:  # a failed run keeps its tokens, to show where it stopped
        fx.cancelled.extend(state.tokens)
        state.tokens.clear()
    state.started.clear()


def _on_decided(state: RunState, ev: Event, fx: Effects) -> None:
    apply_decision(state, ev.payload.decision, None, ev.at, fx)


def _on_step_started(state: RunState, ev: Event, fx: Effects) -> None:
    p: StepStarted = ev.payload
    state.steps += 1
    state.started[p.token] = p.attempt


def _on_step_retrying(state: RunState, ev: Event, fx: Effects) -> None:
    p: StepRetrying = ev.payload
    if p.token not in state.started:
        state.steps += 1  # a failed first attempt recorded without step.started counts here


def _on_step_completed(state: RunState, ev: Event, fx: Effects) -> None:
    p: StepCompleted = ev.payload
    if state.started.pop(p.token, None) is None:
        # A step recorded in one event (noop steps, steps without side effects) counts when it completes.
        state.steps += 1
    outcome = p.outcome
    if outcome.usage is not NO_USAGE:
        state.usage = state.usage + outcome.usage
    if p.writes:
        state.variables.update(p.writes)
    if p.decision is not None:
        apply_decision(state, p.decision, p.token, ev.at, fx)


def _on_step_suspended(state: RunState, ev: Event, fx: Effects) -> None:
    p: StepSuspended = ev.payload
    if state.started.pop(p.token, None) is None:
        state.steps += 1
    if p.usage is not NO_USAGE:
        state.usage = state.usage + p.usage
    _add_wait(state, p.token, p.wait, ev.at, fx)


def _on_substep(state: RunState, ev: Event, fx: Effects) -> None:
    p: SubstepRecorded = ev.payload
    state.steps += 1
    if p.outcome.usage is not NO_USAGE:
        state.usage = state.usage + p.outcome.usage


def _on_usage_charged(state: RunState, ev: Event, fx: Effects) -> None:
    state.usage = state.usage + ev.payload.usage


def _on_wait_resolved(state: RunState, ev: Event, fx: Effects) -> None:
    p: WaitResolved = ev.payload
    wait = state.waits.get(p.wait_id)
    if wait is None:
        return
    if p.outcome.usage is not NO_USAGE:
        state.usage = state.usage + p.outcome.usage
    if p.writes:
        state.variables.update(p.writes)
    if wait.spec.blocking:
        _drop_waits(state, wait.token, fx)
        if p.decision is None:  # e.g. an approval granted: the token's step runs again
            state.approved.add(wait.token)
            fx.ready.append(wait.token)
        else:
            apply_decision(state, p.decision, wait.token, ev.at, fx)
    else:
        del state.waits[p.wait_id]
        state.token_waits[wait.token].remove(p.wait_id)
        fx.dropped_waits.append(p.wait_id)
        if p.decision is not None:
            apply_decision(state, p.decision, None, ev.at, fx)


def _on_variables(state: RunState, ev: Event, fx: Effects) -> None:
    state.variables.update(ev.payload.values)


def _on_paused(state: RunState, ev: Event, fx: Effects) -> None:
    state.status = RunStatus.PAUSED
    fx.status_changed = True


def _on_resumed(state: RunState, ev: Event, fx: Effects) -> None:
    p: RunResumed = ev.payload
    state.status = RunStatus.RUNNING
    fx.status_changed = True
    if p.limits is not None:
        state.limits = p.limits
    fx.ready.extend(state.ready_tokens())


def _on_cancelled(state: RunState, ev: Event, fx: Effects) -> None:
    _finish(state, RunStatus.CANCELLED, fx)


def _on_completed(state: RunState, ev: Event, fx: Effects) -> None:
    state.outputs = dict(ev.payload.outputs)
    _finish(state, RunStatus.COMPLETED, fx)


def _on_failed(state: RunState, ev: Event, fx: Effects) -> None:
    state.error = ev.payload.error
    _finish(state, RunStatus.FAILED, fx)


_HANDLERS: dict[type, Callable[[RunState, Event, Effects], None]] = {
    Decided: _on_decided,
    StepStarted: _on_step_started,
    StepRetrying: _on_step_retrying,
    StepCompleted: _on_step_completed,
    StepSuspended: _on_step_suspended,
    SubstepRecorded: _on_substep,
    UsageCharged: _on_usage_charged,
    WaitResolved: _on_wait_resolved,
    VariablesSet: _on_variables,
    RunPaused: _on_paused,
    RunResumed: _on_resumed,
    RunCancelled: _on_cancelled,
    RunCompleted: _on_completed,
    RunFailed: _on_failed,
}


def replay(run_id: str, events: list[Event], state: RunState | None = None) -> RunState:
    """Rebuild a run's state from its log (after ``state``'s last event, when a snapshot is given)."""
    it = iter(events)
    if state is None:
        first = next(it)
        if not isinstance(first.payload, RunCreated):
            raise ValueError(f"run {run_id}: the log does not start with run.created")
        state = RunState.created(run_id, first.at, first.payload)
        state.seq = first.seq
    for ev in it:
        apply(state, ev)
    return state
