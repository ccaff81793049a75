"""Moving runs: recording transitions, scheduling ready tokens, executing steps, resolving waits.

Every transition is recorded through the storage backend *before* anything that depends on it runs:
:meth:`RunMover._record` applies an event to the in-memory state, commits it, and only then are the
tokens it made ready handed to workers.
"""

from __future__ import annotations

import heapq
import inspect
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import anyio

from vrooli_core.engine.cache import cache_ttl
from vrooli_core.engine.outbox import outbox_entries
from vrooli_core.engine.runtime import RunRuntime
from vrooli_core.engine.state import Effects, apply
from vrooli_core.errors import NavigatorError, NotFoundError, VrooliError
from vrooli_core.execution.strategy import StepContext
from vrooli_core.jsonable import unstorable
from vrooli_core.model import (
    Decision,
    ErrorInfo,
    Event,
    IOMapping,
    Outcome,
    OutcomeStatus,
    RunStatus,
    StepDef,
    StepKind,
    Token,
    Wait,
    WaitKind,
    WaitSpec,
)
from vrooli_core.model.events import (
    LimitReached,
    RunCompleted,
    RunFailed,
    RunPaused,
    StepCompleted,
    StepRetrying,
    StepStarted,
    StepSuspended,
    WaitResolved,
)
from vrooli_core.storage.base import Commit, LeaseTerms

if TYPE_CHECKING:
    from vrooli_core.engine.engine import Engine

OK = Outcome()
_RUNNING = RunStatus.RUNNING
#: Step kinds the engine executes itself (no strategy), each recorded as started.
_OWN_KINDS = frozenset({StepKind.HUMAN, StepKind.SUBROUTINE, StepKind.DELEGATE})


class StepStopped(VrooliError):
    """Raised inside a step when its run was paused, failed or cancelled under it."""


class RunMover:
    """The engine's internals for moving runs (mixed into :class:`~vrooli_core.engine.Engine`)."""

    # -- recording ----------------------------------------------------------------------------

    def _apply(self: Engine, rt: RunRuntime, payload: Any, events: list[Event], fx: Effects | None = None) -> Effects:
        """Apply ``payload`` as the run's next event, in memory only; ``_commit`` must follow."""
        st = rt.state
        ev = Event(st.run_id, st.seq + 1, self.clock.now(), payload)
        events.append(ev)
        more = apply(st, ev)
        return more if fx is None else _merge(fx, more)

    async def _commit(
        self: Engine,
        rt: RunRuntime,
        events: list[Event],
        fx: Effects,
        *,
        summary: bool = False,
        hold: bool = False,
        take: bool = False,
        let_go: bool = False,
    ) -> Effects:
        """Write applied events (and the index changes they made) in one commit, then publish them.

        ``hold``: the events only record a side-effect-free step's completion. If they change
        nothing anyone outside the run can see (no wait, status, emit or cancellation), they may
        wait in ``rt.pending`` for the run's next commit (at most ``batch_events`` of them; a
        resting run has none). A crash loses them, and the steps are executed again on resume: they
        had no effect outside, so nothing is done twice that anybody could notice.

        Leases, on a store that writes them with commits (``commit_leases``): the commit that
        creates a run takes its lease (``take``), and the commit that finishes the run, or that
        stores how it rests (``let_go``), drops it."""
        st = rt.state
        write_summary = summary or fx.status_changed
        if rt.pending:
            events = [*rt.pending, *events]
            rt.pending = []
        if (
            hold
            and not (write_summary or fx.new_waits or fx.dropped_waits or fx.emits or fx.cancelled)
            and len(events) < self.batch_events
        ):
            rt.pending = events
            return fx
        if not events and not write_summary and not fx.new_waits and not fx.dropped_waits:
            return fx
        outbox = outbox_entries(st, fx.emits, events[-1].at if events else self.clock.now()) if fx.emits else []
        lease = release = None
        if self.storage.commit_leases:
            if take:
                now = time.time()
                lease = LeaseTerms(self.owner, now, now + self.lease_seconds)
            # A run with deliveries to make keeps its lease until they are made (``_rest``).
            finishing = write_summary and st.status.finished and not outbox and (take or st.run_id in self._held)
            if (let_go and st.run_id in self._held) or finishing:
                release = self.owner
        try:
            await self.storage.commit(
                Commit(
                    st.run_id,
                    tuple(events),
                    st.summary() if write_summary else None,
                    (*fx.new_waits, *outbox),
                    tuple(fx.dropped_waits),
                    lease,
                    release,
                )
            )
        except BaseException:
            # Memory is now ahead of storage: forget this runtime; the next use reloads the run.
            rt.broken = True
            if self._runs.get(st.run_id) is rt:  # not another runtime of the same id (a duplicate run id)
                del self._runs[st.run_id]
            raise
        fx.outbox = outbox
        if release is not None:
            self._held.discard(st.run_id)
            self._idle.discard(st.run_id)
        elif lease is not None:
            self._held.add(st.run_id)
        if write_summary:
            self._summary_seq[st.run_id] = st.seq
            self._summary_status[st.run_id] = st.status
        if self.bus:
            for ev in events:
                self.bus.publish(ev)
        every = self.storage.snapshot_every
        if every and st.seq // every != (st.seq - len(events)) // every:
            await self.storage.save_snapshot(st.run_id, st.seq, st.to_snapshot(self.converter))
        return fx

    async def _record(self: Engine, rt: RunRuntime, payload: Any) -> Effects:
        """Apply ``payload`` as the run's next event and commit it. Call with ``rt.lock`` held."""
        events: list[Event] = []
        return await self._commit(rt, events, self._apply(rt, payload, events))

    async def _record_decision(
        self: Engine,
        rt: RunRuntime,
        payload: Any,
        decision: Decision | None,
        events: list[Event] | None = None,
        *,
        hold: bool = False,
        take: bool = False,
    ) -> Effects:
        """Record ``payload`` and, in the same commit, the run's end if its decision ends the run."""
        events = [] if events is None else events
        fx = self._apply(rt, payload, events)
        st = rt.state
        if decision is not None and not st.status.finished:
            if decision.error is not None:
                self._apply(rt, RunFailed(decision.error), events, fx)
            elif decision.complete or not st.tokens:
                outputs = decision.outputs if decision.outputs is not None else self._outputs(rt)
                self._apply(rt, RunCompleted(outputs), events, fx)
        return await self._commit(rt, events, fx, summary=events[0].seq == 1, hold=hold, take=take)

    async def _fail(self: Engine, rt: RunRuntime, error: ErrorInfo) -> Effects:
        if rt.state.status.finished:
            return Effects()
        return await self._record(rt, RunFailed(error))

    # -- after a transition -------------------------------------------------------------------

    async def _after(self: Engine, rt: RunRuntime, fx: Effects) -> None:
        """Act on a committed transition: cancel, schedule, index, answer choices, notify parents."""
        for tid in fx.cancelled:
            scope = rt.running.get(tid)
            if scope is not None:
                scope.cancel()
        if fx.ready:
            rt.ready.extend(fx.ready)
            if rt.state.status is RunStatus.WAITING:
                rt.state.status = _RUNNING
            rt.poke()
        for wid in fx.dropped_waits:
            rt.conditions.discard(wid)
        for wait in fx.new_waits:
            kind = wait.spec.kind
            if kind is WaitKind.TIMER:
                self._add_timer(wait)
            elif kind is WaitKind.CONDITION:
                rt.conditions.add(wait.id)
            elif kind is WaitKind.CHOICE:
                await self._choose(rt, wait)
            elif kind is WaitKind.SUBRUN:
                await self._start_child_run(rt, wait)
        if fx.outbox:
            await self._send(fx.outbox)
        if rt.conditions and not rt.state.status.finished:
            await self._check_conditions(rt)
        if fx.status_changed and rt.state.status.finished:
            await self._on_finished(rt)

    async def _deliver(self: Engine, entry: Wait) -> None:
        """Deliver a thrown signal (to every wait for it) or message (to the oldest matching wait),
        from its OUTBOX entry (``outbox.py``)."""
        emit = self._emit_of(entry)
        waits = await self.storage.find_waits(
            kinds=(emit.kind,), name=emit.name, correlation=emit.correlation if emit.kind is WaitKind.MESSAGE else None
        )
        waits = self._reached_by(waits, entry)
        if emit.kind is WaitKind.MESSAGE:
            waits = waits[:1]
        if not waits or emit.kind is WaitKind.SIGNAL:
            # Routines with a matching message or signal start get a new run.
            await self._start_by(
                emit.kind, emit.name, emit.payload, first_only=emit.kind is WaitKind.MESSAGE and not waits, entry=entry
            )
        for wait in waits:
            target = await self._runtime(wait.run_id, own=True)
            if wait.id in target.state.waits and not target.state.status.finished:
                await self._resolve(target, wait.id, Outcome(output=emit.payload))
                await self._kick(target)  # drives another run here; wakes this run's own driver

    def _add_timer(self: Engine, wait: Wait) -> None:
        heapq.heappush(self._timers, (wait.spec.due or 0.0, wait.id, wait.run_id))
        if self._timer_wake is not None:
            self._timer_wake.set()

    # -- driving ------------------------------------------------------------------------------

    async def _kick(self: Engine, rt: RunRuntime) -> None:
        """Make sure the run moves: drive it here, or wake the driver that already does. An engine
        that does not move runs (``move_runs=False``) stores how the run rests and lets it go: a
        worker on the same store claims it if it has work."""
        if rt.driving:
            rt.poke()
        elif not self.move_runs:
            await self._rest(rt)
        else:
            await self._drive(rt)

    async def _drive(self: Engine, rt: RunRuntime, claimed: bool = False) -> None:
        """Run ready tokens until none is left (the run rests: completed, waiting, paused, …).

        ``claimed``: the caller already marked the run as driven (a driver spawned as a task).
        """
        if not claimed:
            rt.start_driving()
        st = rt.state
        span = (
            self.tracer.start_span(
                f"run {st.routine.id}",
                attributes={"vrooli.run": st.run_id, "vrooli.routine": st.routine.id, "vrooli.routine.version": st.routine.version},
            )
            if self.tracing
            else None
        )
        try:
            async with anyio.create_task_group() as tg:
                while True:
                    st = rt.state
                    while rt.ready and st.status is _RUNNING and rt.workers < self.max_concurrency:
                        if rt.workers == 0 and len(rt.ready) == 1:
                            # Fast path: a lone ready token runs inline, no task is spawned.
                            await self._advance(rt, rt.ready.popleft())
                            continue
                        rt.workers += 1
                        tg.start_soon(self._worker, rt)
                    if rt.workers == 0 and not (rt.ready and st.status is _RUNNING):
                        break
                    rt.wake = anyio.Event()
                    await rt.wake.wait()
                    rt.wake = None
        except BaseExceptionGroup as group:
            # Callers get the error a worker raised (a StorageError, …), not a task-group wrapper.
            raise _leaf(group) from group
        finally:
            if span is not None:
                span.set_attribute("vrooli.status", str(st.status))
                span.set_attribute("vrooli.steps", st.steps)
                span.end()
            rt.stop_driving()
        await self._rest(rt)

    async def _worker(self: Engine, rt: RunRuntime) -> None:
        try:
            while rt.ready and rt.state.status is _RUNNING:
                await self._advance(rt, rt.ready.popleft())
        finally:
            rt.workers -= 1
            rt.poke()

    async def _rest(self: Engine, rt: RunRuntime) -> None:
        """The run stopped moving: store its summary (status, steps, usage) and maybe evict it."""
        st = rt.state
        if st.status in (RunStatus.RUNNING, RunStatus.WAITING) and not rt.running:
            st.status = RunStatus.RUNNING if rt.ready else RunStatus.WAITING
        if rt.broken or rt.driving:
            return
        # The stored record must say how the run rests (other engines and workers go by it), even
        # when no event came since it was written (a run that waits from its start decision on);
        # held events go with it, and the lease goes when nothing of the run is under way.
        if rt.pending or self._summary_seq.get(st.run_id) != st.seq or self._summary_status.get(st.run_id) is not st.status:
            let_go = self.storage.commit_leases and st.run_id in self._held and not (rt.running or rt.workers)
            async with rt.lock:
                await self._commit(rt, [], Effects(), summary=True, let_go=let_go)
        await self._let_go(rt)
        self._evict()

    def _evict(self: Engine) -> None:
        """Forget resting runs (oldest first) down to 90% of the cache size; storage has them."""
        runs = self._runs
        if len(runs) <= self.max_cached_runs:
            return
        excess = len(runs) - self.max_cached_runs * 9 // 10
        for run_id in [rid for rid, rt in runs.items() if not (rt.driving or rt.running or rt.workers)][:excess]:
            del runs[run_id]
            self._summary_seq.pop(run_id, None)
            self._summary_status.pop(run_id, None)

    # -- one token ----------------------------------------------------------------------------

    async def _advance(self: Engine, rt: RunRuntime, tid: str) -> None:
        st = rt.state
        token = st.tokens.get(tid)
        if token is None or st.status is not _RUNNING:
            return
        step = rt.graph.steps.get(token.location)
        if step is None:
            async with rt.lock:
                fx = await self._fail(rt, _nav_error(rt, f"token {tid} is at unknown location {token.location!r}", token.location))
            await self._after(rt, fx)
            return
        hit = self._limit_hit(st, rt)
        if hit is not None:
            rt.ready.appendleft(tid)
            await self._limit_reached(rt, *hit)
            return
        if step.kind is StepKind.NOOP:
            await self._complete_step(rt, token, step, OK)
            return
        attempt = st.started.get(tid)
        resumed = attempt is not None  # started before a crash: same attempt, same idempotency key
        attempt = attempt or 1
        # A first attempt without side effects is recorded once, when it completes; a crash before
        # that re-executes it as attempt 1, with the same key. Retries are always recorded as started,
        # so a crash mid-retry resumes with the right attempt number.
        record_start = resumed is False and self._has_side_effects(step)
        while True:
            if record_start:
                async with rt.lock:
                    await self._record(rt, StepStarted(tid, step.id, attempt, strategy=self._strategy_name(step)))
            record_start = True
            outcome = await self._execute(rt, token, step, attempt)
            if outcome is None:  # cancelled, or the run stopped under the step
                if tid in st.tokens and st.status is RunStatus.PAUSED:
                    rt.ready.appendleft(tid)
                return
            if (
                outcome.status is OutcomeStatus.FAILED
                and attempt < step.retry.max_attempts
                and (not step.retry.retry_on or (outcome.error and outcome.error.code in step.retry.retry_on))
            ):
                delay = step.retry.backoff * 2 ** (attempt - 1)
                async with rt.lock:
                    await self._record(rt, StepRetrying(tid, step.id, attempt, outcome.error, delay))  # type: ignore[arg-type]
                if delay:
                    await self.clock.sleep(delay)
                if tid not in st.tokens or st.status is not _RUNNING:
                    return
                attempt += 1
                continue
            break
        await self._complete_step(rt, token, step, outcome)

    async def _complete_step(self: Engine, rt: RunRuntime, token: Token, step: StepDef, outcome: Outcome) -> None:
        st = rt.state
        async with rt.lock:
            if token.id not in st.tokens:  # cancelled while the step ran
                return
            if outcome.output is not None:
                # Normalise through the converter (plugins' types become JSON), so the live run holds
                # exactly what a run rebuilt from storage will hold.
                output, bad = self._normalised(outcome.output)
                if bad is not None:
                    outcome = Outcome.failure("unstorable_output", f"output of step {step.id!r} cannot be stored (JSON types only): {bad}", element=step.id)
                elif output is not outcome.output:
                    outcome = Outcome(outcome.status, output, outcome.error, outcome.usage, outcome.wait, outcome.trigger)
            if outcome.status is OutcomeStatus.SUSPENDED and outcome.wait is None:
                outcome = Outcome.failure("invalid_outcome", f"step {step.id!r} suspended without a wait", element=step.id)
            if outcome.status is OutcomeStatus.SUSPENDED:
                fx = await self._record(rt, StepSuspended(token.id, step.id, outcome.wait, outcome.usage))  # type: ignore[arg-type]
            else:
                writes: dict[str, Any] = {}
                if outcome.status is OutcomeStatus.COMPLETED:
                    try:
                        writes = self._writes(rt, step, outcome)
                    except VrooliError as exc:  # an output mapping that does not fit is the step's failure
                        outcome = Outcome(OutcomeStatus.FAILED, outcome.output, ErrorInfo.from_exception(exc, element=step.id), outcome.usage)
                if writes:
                    st.variables.update(writes)
                decision, err = await self._decide(rt, token, outcome)
                fx = await self._record_decision(
                    rt,
                    StepCompleted(token.id, step.id, outcome, writes, decision),
                    decision,
                    hold=step.kind is StepKind.NOOP or not self._has_side_effects(step),
                )
                if err is not None:
                    fx = _merge(fx, await self._fail(rt, err))
        await self._after(rt, fx)

    def _strategy_name(self: Engine, step: StepDef) -> str | None:
        """The strategy that executes ``step`` (``None``: the engine's own kinds, or none found)."""
        if step.kind in _OWN_KINDS:
            return None
        try:
            return self.executor.strategy_for(step).name
        except VrooliError:
            return None

    def _has_side_effects(self: Engine, step: StepDef) -> bool:
        """Whether executing ``step`` may affect anything outside the run (see ``Strategy.side_effects``)."""
        if step.kind in _OWN_KINDS:
            return True
        try:
            return self.executor.strategy_for(step).side_effects
        except VrooliError:  # no such strategy: the step fails when it executes, recorded as started
            return True

    async def _ask(self: Engine, rt: RunRuntime, element: str | None, method: Any, *args: Any) -> tuple[Decision | None, ErrorInfo | None]:
        """Call a navigator method; a raise or an invalid answer becomes the run's error, not ours."""
        try:
            rt.view.now = self.clock.now()
            decision = method(rt.graph, rt.view, *args)
            if type(decision) is not Decision and inspect.isawaitable(decision):
                decision = await decision
            self._check_decision(rt, decision)
            return decision, None
        except Exception as exc:  # plugin boundary: a navigator bug fails the run, history stays intact
            return None, _nav_error(rt, f"{type(exc).__name__}: {exc}", element)

    async def _decide(self: Engine, rt: RunRuntime, token: Token, outcome: Outcome) -> tuple[Decision | None, ErrorInfo | None]:
        return await self._ask(rt, token.location, rt.nav.next, token, outcome)

    def _check_decision(self: Engine, rt: RunRuntime, decision: Any) -> None:
        if not isinstance(decision, Decision):
            raise NavigatorError(f"navigator {rt.nav.name!r} returned {type(decision).__name__}, not a Decision")
        steps = rt.graph.steps
        for nt in decision.create:
            if nt.location not in steps:
                raise NavigatorError(f"decision creates a token at unknown location {nt.location!r}")
        for spec in decision.waits:
            if spec.token not in rt.state.tokens:
                raise NavigatorError(f"decision registers a wait on unknown token {spec.token!r}")

    async def _execute(self: Engine, rt: RunRuntime, token: Token, step: StepDef, attempt: int) -> Outcome | None:
        kind = step.kind
        if kind is StepKind.HUMAN:
            return Outcome(status=OutcomeStatus.SUSPENDED, wait=_human_wait(step))
        st = rt.state
        try:
            inputs = self._inputs(rt, step, token)
        except VrooliError as exc:
            return Outcome(status=OutcomeStatus.FAILED, error=ErrorInfo.from_exception(exc, element=step.id))
        if kind is StepKind.SUBROUTINE:
            return await self._subroutine_step(rt, token, step, attempt, inputs)
        ctx = StepContext(
            run_id=st.run_id,
            token=token,
            step=step,
            inputs=inputs,
            attempt=attempt,
            idempotency_key=f"{st.run_id}:{token.id}:{step.id}:{attempt}",
            variables=rt.view.variables,
            tools=self.tools,
            clock=self.clock,
            graph=rt.graph,
            labels=st.labels,
            services=self,
        )
        runner = None
        if kind is StepKind.DELEGATE:
            runner = lambda c: rt.nav.execute(rt.graph, rt.view, token, c)  # noqa: E731
        key = None
        try:
            ttl = cache_ttl(step)
        except VrooliError as exc:
            return Outcome(status=OutcomeStatus.FAILED, error=ErrorInfo.from_exception(exc, element=step.id))
        if ttl is not None:
            key = self._cache_key(rt, step, inputs)
            hit = await self._cached(rt, token, step, key, ttl)
            if hit is not None:
                return hit
        with anyio.CancelScope() as scope:
            rt.running[token.id] = scope
            try:
                if self.tracing:
                    with self.tracer.start_as_current_span(
                        f"step {step.id}",
                        attributes={"vrooli.run": st.run_id, "vrooli.step": step.id, "vrooli.step.kind": str(kind), "vrooli.attempt": attempt},
                    ) as span:
                        outcome = await self.executor.execute(ctx, runner)
                        span.set_attribute("vrooli.outcome", str(outcome.status))
                        if outcome.error is not None:
                            span.set_attribute("vrooli.error.code", outcome.error.code)
                else:
                    outcome = await self.executor.execute(ctx, runner)
            finally:
                rt.running.pop(token.id, None)
        if scope.cancelled_caught or (outcome.error is not None and outcome.error.code == StepStopped.__name__):
            return None
        if key is not None:
            await self._remember(key, outcome)
        return outcome

    # -- IO -----------------------------------------------------------------------------------

    def _normalised(self: Engine, value: Any) -> tuple[Any, str | None]:
        """``value`` as storage will keep it (plugins' types through the converter), and what part of
        it cannot be stored (``None``: all of it can)."""
        value = self.converter.unstructure(value)
        return value, unstorable(value)

    def _inputs(self: Engine, rt: RunRuntime, step: StepDef, token: Token) -> Any:
        io: IOMapping = rt.nav.io(rt.graph, step.id)
        variables: Mapping[str, Any] = rt.state.variables
        if token.locals:
            variables = {**variables, **token.locals}
        if io.inputs is None:
            return dict(variables)
        return {
            param: path(variables) if callable(path) else _lookup(variables, path, step.id) for param, path in io.inputs.items()
        }

    def _writes(self: Engine, rt: RunRuntime, step: StepDef, outcome: Outcome) -> dict[str, Any]:
        io: IOMapping = rt.nav.io(rt.graph, step.id)
        output = outcome.output
        if io.outputs is None:
            if type(output) is dict:
                # The output itself, not a copy: storage then writes the mapping once for both.
                return output
            if isinstance(output, Mapping):
                return dict(output)
            return {} if output is None else {step.id: output}
        return {var: (_lookup(output, path, step.id) if path else output) for var, path in io.outputs.items()}

    def _outputs(self: Engine, rt: RunRuntime) -> dict[str, Any]:
        variables = rt.state.variables
        declared = rt.graph.routine.outputs.get("properties")
        if declared:
            return {k: variables[k] for k in declared if k in variables}
        return dict(variables)

    # -- limits -------------------------------------------------------------------------------

    def _limit_hit(self: Engine, st: Any, rt: RunRuntime | None = None) -> tuple[str, float, float] | None:
        lim = st.limits
        if lim.max_steps is not None:
            steps = st.steps
            if rt is not None and rt.running:
                # Steps in flight that recorded no step.started are not counted in the state yet.
                steps += sum(1 for tid in rt.running if tid not in st.started)
            if steps >= lim.max_steps:
                return ("max_steps", steps, lim.max_steps)
        if lim.wall_time is not None and self.clock.now() - st.created_at >= lim.wall_time:
            return ("wall_time", self.clock.now() - st.created_at, lim.wall_time)
        if lim.max_cost is not None and st.usage.cost >= lim.max_cost:
            return ("max_cost", st.usage.cost, lim.max_cost)
        if lim.max_credits is not None and st.usage.credits >= lim.max_credits:
            return ("max_credits", st.usage.credits, lim.max_credits)
        return None

    async def _limit_reached(self: Engine, rt: RunRuntime, limit: str, value: float, threshold: float) -> None:
        st = rt.state
        async with rt.lock:
            if st.status is not _RUNNING:
                return
            action = st.limits.on_limit
            fx = await self._record(rt, LimitReached(limit, value, threshold, action))
            message = f"limit {limit} reached ({value:g} of {threshold:g})"
            if action == "pause":
                fx = _merge(fx, await self._record(rt, RunPaused(message)))
            else:
                fx = _merge(fx, await self._fail(rt, ErrorInfo(code="limit_exceeded", message=message, type="LimitExceededError", details={"limit": limit})))
        await self._after(rt, fx)

    # -- waits --------------------------------------------------------------------------------

    async def _resolve(self: Engine, rt: RunRuntime, wait_id: str, outcome: Outcome) -> None:
        """Resolve a registered wait with ``outcome`` and move its token (or tell the navigator)."""
        st = rt.state
        async with rt.lock:
            wait = st.waits.get(wait_id)
            if wait is None:
                raise NotFoundError(f"no open task or wait {wait_id!r} in run {st.run_id}")
            spec = wait.spec
            outcome = Outcome(outcome.status, outcome.output, outcome.error, outcome.usage, None, spec.key or spec.name or None)
            writes: dict[str, Any] = {}
            decision: Decision | None
            err = None
            if not spec.blocking:
                decision, err = await self._ask(rt, spec.key or wait.token, rt.nav.on_event, wait, outcome)
            elif spec.key.startswith("approval:") and outcome.ok and _approved(outcome.output):
                decision = None  # approved: the step runs again without asking
            else:
                token = st.tokens[wait.token]
                if spec.key.startswith("approval:"):
                    outcome = Outcome.failure("approval_rejected", f"a person rejected step {token.location!r}: {outcome.output!r}", element=token.location)
                elif outcome.ok and _is_step_wait(rt, token, spec):
                    try:
                        writes = self._writes(rt, rt.graph.steps[token.location], outcome)
                    except VrooliError as exc:
                        outcome = Outcome(OutcomeStatus.FAILED, outcome.output, ErrorInfo.from_exception(exc, element=token.location), outcome.usage, None, outcome.trigger)
                    st.variables.update(writes)
                decision, err = await self._decide(rt, token, outcome)
            fx = await self._record_decision(rt, WaitResolved(wait_id, outcome, writes, decision), decision)
            if err is not None:
                fx = _merge(fx, await self._fail(rt, err))
        await self._after(rt, fx)

    async def _check_conditions(self: Engine, rt: RunRuntime) -> None:
        st = rt.state
        for wid in sorted(rt.conditions):
            wait = st.waits.get(wid)
            if wait is None or st.status.finished:
                rt.conditions.discard(wid)
                continue
            try:
                hit = bool(rt.nav.condition_met(rt.graph, rt.view, wait))
            except VrooliError as exc:
                async with rt.lock:
                    fx = await self._fail(rt, ErrorInfo.from_exception(exc, code="expression_error", element=wait.spec.key or None))
                await self._after(rt, fx)
                return
            if hit:
                rt.conditions.discard(wid)
                await self._resolve(rt, wid, Outcome(output=True))


def _leaf(group: BaseExceptionGroup) -> BaseException:
    exc: BaseException = group
    while isinstance(exc, BaseExceptionGroup):
        exc = next((e for e in exc.exceptions if not isinstance(e, anyio.get_cancelled_exc_class())), exc.exceptions[0])
    return exc


def _merge(a: Effects, b: Effects) -> Effects:
    a.emits.extend(b.emits)
    a.ready.extend(b.ready)
    a.cancelled.extend(b.cancelled)
    a.new_waits.extend(b.new_waits)
    a.dropped_waits.extend(b.dropped_waits)
    a.status_changed = a.status_changed or b.status_changed
    return a


def _nav_error(rt: RunRuntime, message: str, element: str | None) -> ErrorInfo:
    return ErrorInfo(
        code="navigator_error",
        message=f"navigator {rt.nav.name!r} failed at {element!r}: {message}",
        type="NavigatorError",
        element=element,
    )


def _human_wait(step: StepDef) -> WaitSpec:
    cfg = step.config
    form = dict(cfg.get("form") or {})
    if cfg.get("description"):
        form.setdefault("description", cfg["description"])
    return WaitSpec(
        kind=WaitKind.HUMAN,
        name=step.name or step.id,
        options=tuple(cfg.get("options") or ()),
        form=form,
        assignee=cfg.get("assignee"),
    )


def _is_step_wait(rt: RunRuntime, token: Token, spec: WaitSpec) -> bool:
    """Whether the wait is the suspension of the token's own step (its answer is the step's output)."""
    step = rt.graph.steps.get(token.location)
    if step is None:
        return False
    return (spec.kind is WaitKind.HUMAN and step.kind is StepKind.HUMAN) or (
        spec.kind is WaitKind.SUBRUN and step.kind is StepKind.SUBROUTINE
    )


def _approved(output: Any) -> bool:
    if isinstance(output, Mapping):
        output = output.get("approved", output.get("choice"))
    return output is True or output in ("approve", "approved", "yes")


def _lookup(data: Any, path: str, element: str) -> Any:
    from vrooli_core.errors import ExpressionError

    if path.startswith("="):
        from vrooli_core.expressions import evaluate

        return evaluate(path[1:], data if isinstance(data, Mapping) else {"value": data}, element=element)
    value = data
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, (list, tuple)) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            raise ExpressionError(f"no value at {path!r}", element=element)
    return value


__all__ = ["RunMover", "StepStopped"]
