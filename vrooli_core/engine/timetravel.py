"""Time travel over recorded runs: checkpoints, forks, and replays against another routine version.

A run is the fold of its log (:func:`~vrooli_core.engine.state.replay`), so stopping the fold early
gives the run as it stood at any event:

- :meth:`TimeTravel.checkpoints` lists the events after which a run rests between transitions, the
  positions a run can be forked from;
- :meth:`TimeTravel.fork` starts a new run from one of them, with variables changed if asked;
- :meth:`TimeTravel.replay` asks a navigator every recorded question again, with the run as it was
  when the question was asked, and compares its answers with the recorded ones. Navigators are
  deterministic, so another answer means the routine changed under the run.

Nothing here writes to the original run. See ``docs/time-travel.md``.
"""

from __future__ import annotations

import enum
import inspect
import json
import uuid
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from vrooli_core.engine.mover import _approved, _is_step_wait
from vrooli_core.engine.runtime import RunRuntime
from vrooli_core.engine.state import Effects, RunState, apply
from vrooli_core.errors import NotFoundError, RunError, VrooliError
from vrooli_core.model import Decision, Event, Graph, OutcomeStatus, RoutineDef, RoutineRef, Run, RunStatus, WaitKind
from vrooli_core.model.empty import EMPTY
from vrooli_core.model.events import (
    Decided,
    RunCreated,
    RunFailed,
    RunResumed,
    StepCompleted,
    StepRetrying,
    StepStarted,
    StepSuspended,
    SubstepRecorded,
    VariablesSet,
    WaitResolved,
)
from vrooli_core.storage.base import Commit

if TYPE_CHECKING:
    from vrooli_core.engine.engine import Engine, RoutineLike
    from vrooli_core.engine.navigator import Navigator
    from vrooli_core.model import Wait

#: Events after which a run may rest between transitions (more in ``_rests``).
_CHECKPOINT_TYPES = (Decided, StepCompleted, StepSuspended, WaitResolved, VariablesSet)
_STEP_EVENTS = (StepStarted, StepRetrying, StepCompleted, StepSuspended, SubstepRecorded)
#: A decision is recorded a moment after it is asked: timer due times a navigator computed from the
#: clock (``view.now``) differ by that moment when it is asked again at the recorded time. They are
#: the same within the time since the previous event, and at most this many seconds.
_DUE_SLACK = 1.0


@attrs.frozen
class Checkpoint:
    """A recorded position a run can be forked from: the run as it stood after event ``seq``."""

    seq: int
    at: float
    #: The event's type (``step.completed``, ``wait.resolved``, …).
    type: str
    #: What happened, in a few words (``step 'draft' completed``).
    description: str
    #: Where the run's tokens were, in creation order.
    locations: tuple[str, ...] = ()
    #: Variables the event changed, with their new values.
    changed: Mapping[str, Any] = EMPTY
    #: What the run was waiting for (``human 'Review the draft'``, ``timer 'late'``).
    waiting: tuple[str, ...] = ()


@attrs.frozen
class Divergence:
    """Where a replay first got another answer than the recorded one."""

    seq: int
    #: The type of the event whose question was answered differently.
    type: str
    #: The step, location or wait the question was about (``None``: the start).
    element: str | None
    #: Why it diverges, in one line.
    reason: str
    #: The recorded and the fresh answer in their stored form (``None``: the navigator raised).
    recorded: Any = None
    fresh: Any = None
    #: What the navigator raised when asked again.
    error: str | None = None
    token: str | None = None


@attrs.frozen
class ReplayReport:
    """The result of :meth:`TimeTravel.replay`."""

    run_id: str
    #: The routine version replayed against (``version`` is empty for one that is not stored).
    routine: RoutineRef
    #: Events folded, and questions asked of the navigator again.
    events: int
    decisions: int
    divergence: Divergence | None = None

    @property
    def matched(self) -> bool:
        return self.divergence is None


class TimeTravel:
    """Checkpoints, forks and replays (mixed into :class:`~vrooli_core.engine.Engine`)."""

    async def checkpoints(self: Engine, run_id: str) -> list[Checkpoint]:
        """Every recorded position ``run_id`` can be forked from, oldest first: the events after which
        it rests between transitions (the start decision, a step completed or suspended, a wait
        resolved, variables set), has not ended, and has no child run open."""
        found = []
        for ev, state, touched, wait, rests in _walk(run_id, await self.storage.read_events(run_id)):
            if rests:
                changed = {
                    k: state.variables[k] for k, old in touched.items() if state.variables.get(k, _MISSING) != old
                }
                found.append(
                    Checkpoint(ev.seq, ev.at, ev.type, _describe(ev, wait), _locations(state), changed, _waiting(state))
                )
        return found

    async def state_at(self: Engine, run_id: str, seq: int) -> dict[str, Any]:
        """The run as it stood after event ``seq`` (any event, not only a checkpoint): status,
        variables, token locations, steps in flight and open waits, as plain data."""
        state, _ = _fold(run_id, await self._events_until(run_id, seq))
        status = state.status
        if status is RunStatus.RUNNING and not state.ready_tokens():
            status = RunStatus.WAITING
        return {
            "run_id": run_id,
            "seq": seq,
            "status": str(status),
            "variables": dict(state.variables),
            "tokens": {tid: t.location for tid, t in state.tokens.items()},
            "in_flight": sorted(state.started),
            "waits": [
                {
                    "id": w.id,
                    "kind": str(w.spec.kind),
                    "name": w.spec.name,
                    "key": w.spec.key,
                    "token": w.token,
                    "blocking": w.spec.blocking,
                    "due": w.spec.due,
                }
                for w in state.waits.values()
            ],
        }

    async def fork(
        self: Engine,
        run_id: str,
        at: int,
        *,
        variables: Mapping[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
        fork_id: str | None = None,
    ) -> Run:
        """Start a new run from checkpoint ``at`` of ``run_id``, with ``variables`` merged in, and move
        it until it rests (like :meth:`run`). The original run is not touched.

        The fork's log is its own: a ``run.created`` (labels ``forked_from`` and ``forked_at`` say
        where it came from), the original's events 2 to ``at`` under the fork's id, then ``run.variables``
        with ``variables``. Waits open at ``at`` are open in the fork (its own tasks and timers); steps
        in flight at ``at`` run again. A position where a child run is open cannot be forked (the child
        belongs to the original run)."""
        values = self._storable(dict(variables or {}), "the variables")
        events = await self._events_until(run_id, at)
        state, rests = _fold(run_id, events)
        if _child_open(state):
            raise RunError(
                f"cannot fork at event {at}: a child run is open there, and it belongs to this run; "
                "fork before the subroutine step started or after its child run ended",
                run_id=run_id,
                code="child_run_open",
            )
        if not rests:
            raise RunError(
                f"event {at} is not a checkpoint (a position the run rests at); see its checkpoints",
                run_id=run_id,
                code="not_a_checkpoint",
            )
        created: RunCreated = events[0].payload
        graph = await self._stored_graph(created.routine, run_id, "fork it")
        new_id = fork_id or uuid.uuid4().hex
        try:
            await self.storage.get_run(new_id)
        except NotFoundError:
            pass
        else:
            raise RunError(f"a run {new_id!r} exists already", run_id=run_id, code="run_exists")
        await self._hold(new_id, wait=0)  # a new run: this engine moves it, as one it starts
        now = self.clock.now()
        origin = {"forked_from": run_id, "forked_at": str(at)}
        head = RunCreated(
            created.routine,
            created.inputs,
            created.limits,
            labels={**created.labels, **(labels or {}), **origin},
            start=created.start,
        )
        log, state = _forked_log(events, Event(new_id, 1, now, head))
        fresh = [log[0]]
        # Always recorded, even without changes: it marks where the fork's own history begins.
        extra: list[Any] = [VariablesSet(values, f"fork of run {run_id} at event {at}")]
        if state.status is RunStatus.PAUSED:
            extra.append(RunResumed())  # a fork moves on
        for payload in extra:
            ev = Event(new_id, state.seq + 1, now, payload)
            apply(state, ev)
            log.append(ev)
            fresh.append(ev)
        ready = state.ready_tokens()
        state.status = RunStatus.RUNNING if ready else RunStatus.WAITING
        waits = tuple(state.waits.values())
        await self.storage.commit(Commit(new_id, tuple(log), state.summary(), waits))
        self._summary_seq[new_id] = state.seq
        self._summary_status[new_id] = state.status
        every = self.storage.snapshot_every
        if every and state.seq >= every:
            await self.storage.save_snapshot(new_id, state.seq, state.to_snapshot(self.converter))
        if self.bus:
            for ev in fresh:  # the copied events happened in the original run, not now
                self.bus.publish(ev)
        rt = RunRuntime(state, graph, self.navigator(created.routine.format))
        self._runs[new_id] = rt
        await self._after(rt, Effects(ready=ready, new_waits=list(waits)))
        await self._kick(rt)
        return await self._settled(rt)

    async def replay(self: Engine, run_id: str, routine: RoutineLike | RoutineDef | None = None) -> ReplayReport:
        """Ask the navigator of ``routine`` (by default the run's own version) every question the run
        recorded an answer to — the start, each step's completion, each wait's resolution, each
        condition that held — with the run as it was then, and compare. Stops at the first
        divergence. Writes nothing (a routine given as a file or text is parsed, not stored)."""
        events = await self.storage.read_events(run_id)
        created: RunCreated = events[0].payload
        nav, graph, target = await self._replay_target(run_id, created.routine, routine)
        recorded_graph: Graph | None = graph
        if (target.id, target.version) != (created.routine.id, created.routine.version):
            try:
                recorded_graph = await self.graph(created.routine.id, created.routine.version)
            except NotFoundError:
                recorded_graph = None  # step kinds are then not compared
        state = RunState.created(run_id, events[0].at, created)
        state.seq = events[0].seq
        rt = RunRuntime(state, graph, nav)
        asked = 0
        for i, ev in enumerate(events[1:], 1):
            after = events[i + 1] if i + 1 < len(events) else None
            # The question was asked between the previous event and this one; a fork's copied events
            # come after its own (later) run.created, so there the moment is not known.
            gap = ev.at - events[i - 1].at
            slack = (_DUE_SLACK if gap < 0 else min(gap, _DUE_SLACK)) + 1e-9
            checked = await self._recheck(rt, ev, after, recorded_graph, slack)
            if isinstance(checked, Divergence):
                return ReplayReport(run_id, target, i, asked, checked)
            asked += checked
            apply(state, ev)
        return ReplayReport(run_id, target, len(events), asked)

    # -- helpers ------------------------------------------------------------------------------

    async def _events_until(self: Engine, run_id: str, seq: int) -> list[Event]:
        events = await self.storage.read_events(run_id, limit=max(seq, 0))
        if seq < 1 or len(events) < seq:
            total = len(await self.storage.read_events(run_id))
            raise RunError(
                f"event {seq} is out of range (the run has events 1 to {total})", run_id=run_id, code="seq_out_of_range"
            )
        return events

    async def _stored_graph(self: Engine, ref: RoutineRef, run_id: str, doing: str) -> Graph:
        try:
            await self.storage.get_routine(ref.id, ref.version)
        except NotFoundError:
            raise RunError(
                f"its routine {ref.id!r} version {ref.version!r} is no longer stored: cannot {doing}",
                run_id=run_id,
                code="routine_not_stored",
            ) from None
        return await self.graph(ref.id, ref.version)

    async def _replay_target(
        self: Engine, run_id: str, ref: RoutineRef, routine: RoutineLike | RoutineDef | None
    ) -> tuple[Navigator, Graph, RoutineRef]:
        if routine is None:
            graph = await self._stored_graph(ref, run_id, "replay it")
        elif isinstance(routine, RoutineDef):
            graph = await self.graph(routine.id, routine.version)
        else:
            _, graph, _ = self.parse(routine)
        r = graph.routine
        version = r.version or next(
            (s.version for s in reversed(await self.storage.list_routines(r.id)) if s.content_hash == r.content_hash),
            "",
        )
        return self.navigator(r.format), graph, RoutineRef(r.id, version, r.content_hash, r.format)

    async def _recheck(
        self: Engine, rt: RunRuntime, ev: Event, after: Event | None, recorded_graph: Graph | None, slack: float
    ) -> Divergence | int:
        """Ask again the question ``ev`` recorded an answer to (the run is as it was before ``ev``);
        the divergence, or how many questions were asked."""
        p, st, nav = ev.payload, rt.state, rt.nav
        if isinstance(p, _STEP_EVENTS):
            problem = _step_problem(p.step, rt.graph, recorded_graph)
            if problem is not None:
                return Divergence(ev.seq, ev.type, p.step, problem, token=p.token)
        if isinstance(p, Decided) and p.cause == "start":
            failed = (
                after is not None
                and isinstance(after.payload, RunFailed)
                and after.payload.error.code == "navigator_error"
            )
            fresh, error = await self._reask(rt, ev.at, nav.start)
            return self._compared(
                ev, None, None, None if failed and p.decision == Decision() else p.decision, fresh, error, slack
            )
        if isinstance(p, StepCompleted) and p.token in st.tokens:
            token = st.tokens[p.token]
            if p.outcome.status is OutcomeStatus.COMPLETED:
                diverged = self._rewritten(rt, ev, token.location, p.token, p.outcome, p.writes)
                if diverged is not None:
                    return diverged
            st.variables.update(p.writes)  # as the engine did before asking
            fresh, error = await self._reask(rt, ev.at, nav.next, token, p.outcome)
            return self._compared(ev, token.location, p.token, p.decision, fresh, error, slack)
        if isinstance(p, WaitResolved) and p.wait_id in st.waits:
            wait = st.waits[p.wait_id]
            spec = wait.spec
            element = spec.key or wait.token
            if spec.kind is WaitKind.CONDITION:
                holds, error = self._holds(rt, ev.at, wait)
                if not holds:
                    reason = (
                        f"condition {spec.condition!r} cannot be evaluated: {error}"
                        if error
                        else f"condition {spec.condition!r} does not hold here now"
                    )
                    return Divergence(ev.seq, ev.type, element, reason, True, False, error, wait.token)
            if not spec.blocking:
                fresh, error = await self._reask(rt, ev.at, nav.on_event, wait, p.outcome)
                return self._compared(ev, element, wait.token, p.decision, fresh, error, slack)
            if _granted(wait, p):
                return 0  # an approval granted: the step runs again, nobody is asked
            token = st.tokens[wait.token]
            if p.outcome.ok and _is_step_wait(rt, token, spec):
                diverged = self._rewritten(rt, ev, token.location, wait.token, p.outcome, p.writes)
                if diverged is not None:
                    return diverged
            st.variables.update(p.writes)
            fresh, error = await self._reask(rt, ev.at, nav.next, token, p.outcome)
            return self._compared(ev, token.location, wait.token, p.decision, fresh, error, slack)
        return 0

    async def _reask(
        self: Engine, rt: RunRuntime, at: float, method: Any, *args: Any
    ) -> tuple[Decision | None, str | None]:
        rt.view.now = at
        try:
            decision = method(rt.graph, rt.view, *args)
            if type(decision) is not Decision and inspect.isawaitable(decision):
                decision = await decision
            self._check_decision(rt, decision)
            return decision, None
        except Exception as exc:  # plugin boundary: what the navigator raises is what the report shows
            return None, f"{type(exc).__name__}: {exc}"

    def _holds(self: Engine, rt: RunRuntime, at: float, wait: Wait) -> tuple[bool, str | None]:
        rt.view.now = at
        try:
            return bool(rt.nav.condition_met(rt.graph, rt.view, wait)), None
        except Exception as exc:  # plugin boundary, as in _reask
            return False, f"{type(exc).__name__}: {exc}"

    def _rewritten(
        self: Engine, rt: RunRuntime, ev: Event, location: str, token: str, outcome: Any, writes: Mapping[str, Any]
    ) -> Divergence | None:
        """A divergence when this routine's output mapping writes other variables than were recorded."""
        step = rt.graph.steps.get(location)
        if step is None:
            return None  # the decision that created the token is compared (and differs) first
        recorded = self._plain(dict(writes))
        try:
            fresh = self._plain(self._writes(rt, step, outcome))
        except VrooliError as exc:
            return Divergence(
                ev.seq,
                ev.type,
                location,
                f"the output mapping of step {location!r} fails now",
                recorded,
                None,
                str(exc),
                token,
            )
        diff = _difference(recorded, fresh, 0.0, "writes")
        if diff is None:
            return None
        return Divergence(
            ev.seq, ev.type, location, f"step {location!r} writes other variables: {diff}", recorded, fresh, None, token
        )

    def _compared(
        self: Engine,
        ev: Event,
        element: str | None,
        token: str | None,
        recorded: Decision | None,
        fresh: Decision | None,
        error: str | None,
        slack: float,
    ) -> Divergence | int:
        old = None if recorded is None else self._plain(self.converter.unstructure(recorded, Decision))
        new = None if fresh is None else self._plain(self.converter.unstructure(fresh, Decision))
        if recorded is None and fresh is None:
            return 1  # the navigator failed then and fails now
        if fresh is None:
            reason = f"the navigator raises now: {error}"
        elif recorded is None:
            reason = "the navigator failed when the run was recorded and decides now"
        else:
            diff = _difference(old, new, slack, "")
            if diff is None:
                return 1
            reason = f"another decision: {diff}"
        return Divergence(ev.seq, ev.type, element, reason, old, new, error, token)

    def _plain(self: Engine, value: Any) -> Any:
        """``value`` as comparable plain data: mappings as dicts, sequences as lists, enums as values."""
        if isinstance(value, Mapping):
            return {str(k): self._plain(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self._plain(v) for v in value]
        if isinstance(value, enum.Enum):
            return value.value
        if attrs.has(type(value)):
            return self._plain(self.converter.unstructure(value))
        return value


_MISSING = object()


def _walk(run_id: str, events: list[Event]) -> Iterator[tuple[Event, RunState, dict[str, Any], Wait | None, bool]]:
    """Fold ``events`` one by one; yields each event with the state after it (the same object, changed
    in place), the old values of the variables it touched, the wait it resolved, and whether the run
    rests between transitions after it."""
    first = events[0]
    if not isinstance(first.payload, RunCreated):
        raise RunError("the log does not start with run.created", run_id=run_id, code="invalid_log")
    state = RunState.created(run_id, first.at, first.payload)
    state.seq = first.seq
    yield first, state, {}, None, False
    for ev in events[1:]:
        p = ev.payload
        wait = state.waits.get(p.wait_id) if isinstance(p, WaitResolved) else None
        keys: list[str] = []
        if isinstance(p, (StepCompleted, WaitResolved)):
            keys += p.writes
        if isinstance(p, VariablesSet):
            keys += p.values
        if isinstance(p, (Decided, StepCompleted, WaitResolved)) and p.decision is not None:
            keys += p.decision.variables
        touched = {k: state.variables.get(k, _MISSING) for k in keys}
        apply(state, ev)
        yield ev, state, touched, wait, _rests(state, p, wait)


def _fold(run_id: str, events: list[Event]) -> tuple[RunState, bool]:
    """The run after ``events``, and whether it rests between transitions there."""
    *_, (_ev, state, _touched, _wait, rests) = _walk(run_id, events)
    return state, rests


def _rests(state: RunState, payload: Any, wait: Wait | None) -> bool:
    """Whether the run rests between transitions after ``payload``: one of the checkpoint events, the
    run not ended, no end recorded right after it (a decision that fails or completes the run,
    leaves no token, or could not be made), and no child run open (a fork cannot take it along)."""
    if not isinstance(payload, _CHECKPOINT_TYPES) or state.status.finished or not state.tokens or _child_open(state):
        return False
    if isinstance(payload, (Decided, StepCompleted, WaitResolved)):
        decision = payload.decision
        if decision is None:
            return isinstance(payload, WaitResolved) and wait is not None and _granted(wait, payload)
        return decision.error is None and not decision.complete
    return True


def _child_open(state: RunState) -> bool:
    """Whether a child run is open: its end would resolve this run's wait, never a fork's."""
    return any(w.spec.kind is WaitKind.SUBRUN for w in state.waits.values())


def _granted(wait: Wait, resolved: WaitResolved) -> bool:
    """Whether ``resolved`` granted an approval (the token's step runs again; no decision is made)."""
    spec = wait.spec
    return (
        spec.blocking
        and spec.key.startswith("approval:")
        and resolved.outcome.ok
        and _approved(resolved.outcome.output)
    )


def _forked_log(events: list[Event], head: Event) -> tuple[list[Event], RunState]:
    """``head`` (the fork's ``run.created``) and ``events[1:]`` under the fork's id, with their
    sequence numbers and times, and the fork's state after them. Wait ids are the run id and a
    counter, so the copied events register the same waits under the fork's id; the events that name
    one are renamed the same way."""
    old, new = f"{events[0].run_id}-w", f"{head.run_id}-w"
    log = [head] + [Event(head.run_id, ev.seq, ev.at, _renamed(ev.payload, old, new)) for ev in events[1:]]
    state = RunState.created(head.run_id, head.at, head.payload)
    for ev in log[1:]:
        apply(state, ev)
    return log, state


def _renamed(payload: Any, old: str, new: str) -> Any:
    wait_id = getattr(payload, "wait_id", None)
    if isinstance(wait_id, str) and wait_id.startswith(old):
        return attrs.evolve(payload, wait_id=new + wait_id[len(old) :])
    return payload


def _locations(state: RunState) -> tuple[str, ...]:
    return tuple(t.location for t in state.tokens.values())


def _waiting(state: RunState) -> tuple[str, ...]:
    return tuple(_wait_label(w) for w in state.waits.values())


def _wait_label(wait: Wait) -> str:
    spec = wait.spec
    what = spec.name or spec.key or spec.condition or wait.token
    return f"{spec.kind} {what!r}"


def _describe(ev: Event, wait: Wait | None) -> str:
    p = ev.payload
    if isinstance(p, Decided):
        return "started" if p.cause == "start" else f"decided ({p.cause})"
    if isinstance(p, StepCompleted):
        return f"step {p.step!r} " + ("failed" if p.outcome.status is OutcomeStatus.FAILED else "completed")
    if isinstance(p, StepSuspended):
        return f"step {p.step!r} waits ({p.wait.kind} {p.wait.name or p.wait.key!r})"
    if isinstance(p, WaitResolved):
        if wait is None:
            return "a wait resolved"
        kind = wait.spec.kind
        if kind is WaitKind.HUMAN:
            return f"task {wait.spec.name!r} answered"
        if kind is WaitKind.CHOICE:
            return f"path {p.outcome.output!r} chosen"
        if kind is WaitKind.TIMER:
            return f"timer {wait.spec.key or wait.token!r} fired"
        if kind is WaitKind.CONDITION:
            return f"condition {wait.spec.condition!r} held"
        return (
            f"{kind} {wait.spec.name!r} arrived"
            if kind in (WaitKind.MESSAGE, WaitKind.SIGNAL)
            else f"{kind} wait resolved"
        )
    if isinstance(p, VariablesSet):
        return "variables set" + (f" ({p.reason})" if p.reason else "")
    return ev.type


def _step_problem(step_id: str, graph: Graph, recorded: Graph | None) -> str | None:
    new = graph.steps.get(step_id)
    if new is None:
        return f"step {step_id!r} is not in routine {graph.routine.id!r} any more"
    old = recorded.steps.get(step_id) if recorded is not None else None
    if old is not None and old.kind != new.kind:
        return f"step {step_id!r} was a {old.kind} step and is a {new.kind} step now"
    return None


def _difference(old: Any, new: Any, slack: float, path: str) -> str | None:
    """The first place where two plain values differ (``create[0].location: 'a' was recorded, now 'b'``),
    or ``None``. Timer due times within ``slack`` seconds are the same."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            sub = f"{path}.{key}" if path else key
            if key not in new:
                return f"{sub}: {_short(old[key])} was recorded, now nothing"
            if key not in old:
                return f"{sub}: nothing was recorded, now {_short(new[key])}"
            diff = _difference(old[key], new[key], slack, sub)
            if diff is not None:
                return diff
        return None
    if isinstance(old, list) and isinstance(new, list):
        for i, (a, b) in enumerate(zip(old, new, strict=False)):
            diff = _difference(a, b, slack, f"{path}[{i}]")
            if diff is not None:
                return diff
        if len(old) != len(new):
            return f"{path or 'decision'}: {len(old)} recorded, now {len(new)}"
        return None
    if (
        path.endswith(".due")
        and isinstance(old, (int, float))
        and isinstance(new, (int, float))
        and abs(old - new) <= slack
    ):
        return None
    if old == new:
        return None
    return f"{path or 'decision'}: {_short(old)} was recorded, now {_short(new)}"


def _short(value: Any) -> str:
    text = json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= 80 else text[:77] + "..."


__all__ = ["Checkpoint", "Divergence", "ReplayReport", "TimeTravel"]
