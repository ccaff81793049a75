"""Running a swarm: plan the objective, assign the tasks, run each task as a routine run of its
assignee, feed results forward through the blackboard, adapt when a task fails, and stop within
the swarm's limits — durably: the swarm is stored after every change, so it resumes after a
restart, and every task run is an ordinary recorded run.

One coordinating loop owns the swarm's state; task runs go on in child tasks and report back to it.
A task is ready when every task it depends on is done; ready tasks start at once (up to
``max_parallel``), so independent tasks run in parallel. A task's run id is stored before the run
is created, so a swarm resumed after a crash finds the run instead of starting a second one.

Adaptation is bounded: a failed task (an error, a denied tool, an overrun of its credits) stops new
tasks from starting; once the running ones have finished, the planner is asked for a new plan for
what is left (``SwarmLimits.replans`` times; the agent that failed is not given that task again),
or a person is asked (``escalate_to``: retry, skip or stop), or the swarm fails with a report.
"""

from __future__ import annotations

import inspect
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import anyio
import attrs

from vrooli_core.coordination.assign import Assignment, AssignmentError, Chooser, assign_tasks, candidates_of
from vrooli_core.coordination.context import build_context
from vrooli_core.coordination.errors import CoordinationError
from vrooli_core.coordination.model import (
    Agent,
    Member,
    Swarm,
    SwarmEvent,
    SwarmLimits,
    SwarmStatus,
    SwarmTask,
    TaskStatus,
    Team,
    WriterKind,
    _as_json,
)
from vrooli_core.coordination.permissions import agent_labels
from vrooli_core.coordination.plan import Plan, PlanError, PlanProblem, check_plan
from vrooli_core.coordination.planner import PlanningError, make_plan
from vrooli_core.coordination.store import CoordinationStore
from vrooli_core.coordination.task_routine import task_routine
from vrooli_core.errors import NotFoundError
from vrooli_core.model import Event, Limits, Run, RunStatus

if TYPE_CHECKING:
    from vrooli_core.engine.engine import Engine, RoutineLike

__all__ = ["SWARM_LABEL", "TASK_LABEL", "Criteria", "SwarmRunner"]

#: Labels of every run a swarm makes: the swarm's id, and the task's id for task runs.
SWARM_LABEL = "vrooli.swarm"
TASK_LABEL = "vrooli.swarm.task"

#: Whether the swarm's objective is met (checked after every completed task; it may be async).
Criteria = Callable[[Swarm], bool | Awaitable[bool]]

_LIVE = (TaskStatus.RUNNING, TaskStatus.WAITING)
_DONE = (TaskStatus.COMPLETED, TaskStatus.SKIPPED)


@attrs.define
class _Report:
    """What a task's run reported back to the loop."""

    task: str
    generation: int
    attempt: int
    run: Run


class SwarmRunner:
    """Runs swarms on ``engine`` (see the module).

    ``planner``: the routine that decomposes an objective (see :func:`make_plan`); not needed when a
    plan is given. ``chooser``: picks among qualified agents (see :func:`assign_tasks`).
    ``chooser="model"``: ask :func:`~vrooli_core.coordination.chooser.default_chooser` (a model step,
    ``chooser_model``) for every task several agents qualify for; its runs count as the swarm's spend.
    ``on_failure``: ``"replan"`` (then escalate, if ``escalate_to`` names a person, else fail),
    ``"escalate"`` or ``"fail"``. ``criteria``: the objective is met (the swarm completes early).
    ``wait_for_people``: wait here for people's answers instead of returning while they are due.
    ``context_tokens``: the largest context a task's run is given (compressed beyond that).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        planner: RoutineLike | None = None,
        chooser: Chooser | str | None = None,
        chooser_model: str | None = None,
        on_failure: str = "replan",
        escalate_to: str | None = None,
        criteria: Criteria | None = None,
        max_parallel: int = 16,
        wait_for_people: bool = False,
        context_tokens: int | None = 8_000,
        plan_attempts: int = 3,
        poll: float = 1.0,
        on_event: Callable[[Swarm, SwarmEvent], None] | None = None,
    ) -> None:
        if on_failure not in ("replan", "escalate", "fail"):
            raise ValueError(f"on_failure must be 'replan', 'escalate' or 'fail', not {on_failure!r}")
        if on_failure == "escalate" and escalate_to is None:
            raise ValueError("on_failure='escalate' needs escalate_to (the id of the person to ask)")
        self.engine = engine
        self.store = CoordinationStore(engine.storage)
        self.planner = planner
        if isinstance(chooser, str) and chooser != "model":
            raise ValueError(f"chooser must be a callable, 'model' or None, not {chooser!r}")
        self.chooser = chooser
        self.chooser_model = chooser_model
        self.on_failure = on_failure
        self.escalate_to = escalate_to
        self.criteria = criteria
        self.max_parallel = max(1, max_parallel)
        self.wait_for_people = wait_for_people
        self.context_tokens = context_tokens
        self.plan_attempts = plan_attempts
        self.poll = poll
        self.on_event = on_event
        self._stops: dict[str, anyio.Event] = {}
        self._stop_reasons: dict[str, str] = {}
        self._wakers: dict[str, Any] = {}
        self._owner = uuid.uuid4().hex
        self._loaded: dict[str, Any] = {}

    # -- the public surface -------------------------------------------------------------------

    async def run(
        self,
        team: Team,
        objective: str,
        *,
        agents: Iterable[str] | None = None,
        limits: SwarmLimits | None = None,
        plan: Plan | None = None,
        swarm_id: str | None = None,
    ) -> Swarm:
        """Form a swarm of ``team`` (``agents``: the names recruited; all by default) for
        ``objective`` and run it until it finishes, or rests waiting for people (see
        ``wait_for_people``). ``limits`` default to the team's budget. ``plan``: use this plan
        instead of asking the planner."""
        recruited = tuple(agents) if agents is not None else tuple(a.name for a in team.agents)
        for name in recruited:
            try:
                team.agent(name)
            except LookupError as exc:
                raise CoordinationError(str(exc)) from None
        if plan is None and self.planner is None:
            raise CoordinationError("a swarm needs a plan or a planner routine to make one")
        if limits is None:
            limits = SwarmLimits(credits=team.budget)
        swarm = Swarm(
            id=swarm_id or f"swarm-{uuid.uuid4().hex[:12]}",
            team_id=team.id,
            objective=objective,
            agents=recruited,
            limits=limits,
            started_at=self._now(),
        )
        await self.store.put_team(team)
        swarm = self._log(swarm, "swarm.started", objective=objective, agents=list(recruited), limits=attrs.asdict(limits))
        await self._save(swarm)
        return await self._go(swarm, team, plan)

    async def resume(self, swarm_id: str) -> Swarm:
        """Go on with a stored swarm (after a restart, or once people have answered its tasks)."""
        swarm = await self.store.get_swarm(swarm_id)
        if swarm.status.finished:
            return swarm
        team = await self.store.get_team(swarm.team_id)
        return await self._go(swarm, team, None)

    async def stop(self, swarm_id: str, reason: str = "stopped by a person") -> Swarm:
        """A person's stop: the swarm's task runs are cancelled and it ends ``cancelled``. The stop
        is stored; a runner moving the swarm (here, or in another process) winds it down within
        ``poll`` seconds; a swarm nobody moves is wound down here."""
        await self.store.request_stop(swarm_id, reason, self._now())
        moving = self._stops.get(swarm_id)
        if moving is not None:
            self._stop_reasons[swarm_id] = reason
            moving.set()
            waker = self._wakers.get(swarm_id)  # none while it plans: the loop sees the stop first
            if waker is not None:
                waker.send_nowait(None)  # wakes the loop at once
            return await self.store.get_swarm(swarm_id)
        swarm = await self.store.get_swarm(swarm_id)
        if swarm.status.finished or await self.store.mover(swarm_id, self._now()) is not None:
            return swarm
        swarm = self._log(attrs.evolve(swarm, stop=reason), "swarm.stop_requested", reason=reason)
        return await self._finish(swarm, SwarmStatus.CANCELLED, reason, cancel=True)

    async def get(self, swarm_id: str) -> Swarm:
        return await self.store.get_swarm(swarm_id)

    # -- the loop -----------------------------------------------------------------------------

    async def _go(self, swarm: Swarm, team: Team, plan: Plan | None) -> Swarm:
        if swarm.id in self._stops:
            raise CoordinationError(f"swarm {swarm.id!r} is already moving in this runner")
        stop = self._stops[swarm.id] = anyio.Event()
        await self._heartbeat(swarm)
        try:
            if swarm.status is SwarmStatus.FORMING:
                swarm = swarm.transition(SwarmStatus.PLANNING)
                await self._save(swarm)
            if swarm.status is SwarmStatus.PLANNING:
                swarm = await self._plan(swarm, team, plan)
                if swarm.status.finished:
                    return swarm
            return await self._execute(swarm, team, stop)
        finally:
            del self._stops[swarm.id]
            self._stop_reasons.pop(swarm.id, None)
            self._wakers.pop(swarm.id, None)
            with anyio.CancelScope(shield=True):
                await self.store.drop_mover(swarm.id)

    async def _execute(self, swarm: Swarm, team: Team, stop: anyio.Event) -> Swarm:
        send, receive = anyio.create_memory_object_stream[_Report | None](math.inf)
        self._wakers[swarm.id] = send
        live: dict[str, anyio.CancelScope] = {}
        #: live tasks whose runs were found waiting for a person in this loop
        asking: set[str] = set()
        failed: SwarmTask | None = None
        async with anyio.create_task_group() as tg:

            def launch(task: SwarmTask, fresh: bool = True) -> None:
                scope = anyio.CancelScope()
                live[task.id] = scope
                tg.start_soon(self._task_run, swarm, team, task, send, scope, fresh)

            # Runs of a swarm resumed after a restart: find them again.
            for task in swarm.current_tasks():
                if task.status in _LIVE and task.run_id is not None:
                    launch(task, fresh=False)
            if swarm.escalation is not None:
                swarm = await self._escalation_answered(swarm)
            look = True  # a stop asked while nobody moved the swarm
            while True:
                ended = await self._ended(swarm, stop, look)
                if ended is not None:
                    for scope in live.values():
                        scope.cancel()
                    return await self._finish(*ended, cancel=True)
                if failed is None and swarm.escalation is None:
                    starting: list[str] = []
                    running = sum(1 for t in live if swarm.task(t).status is TaskStatus.RUNNING)
                    for task in self._ready(swarm):
                        if running + len(starting) >= self.max_parallel or self._out_of_rounds(swarm):
                            break
                        swarm = self._begin(swarm, task)
                        starting.append(task.id)
                    if starting:
                        await self._save(swarm)  # the run ids are stored before the runs exist
                        for task_id in starting:
                            launch(swarm.task(task_id))
                busy = [t for t in live if swarm.task(t).status is TaskStatus.RUNNING]
                if not busy:
                    if failed is not None:
                        swarm, failed = await self._adapt(swarm, team, failed), None
                        if swarm.status.finished:
                            return swarm
                        continue
                    if swarm.escalation is not None and not self.wait_for_people:
                        return swarm  # a person decides about a failed task: resume after
                    current = swarm.current_tasks()
                    if all(t.status in _DONE for t in current):
                        return await self._finish(swarm, SwarmStatus.COMPLETED, "every task is done")
                    if not live and not any(t.status is TaskStatus.WAITING for t in current):
                        if swarm.escalation is None:
                            reason = "the rounds limit is reached" if self._out_of_rounds(swarm) else "no task can start"
                            return await self._finish(swarm, SwarmStatus.FAILED, reason)
                    if live and not self.wait_for_people and all(t in asking for t in live):
                        for scope in live.values():
                            scope.cancel()
                        return swarm  # waiting for people: resume once they have answered
                report = await self._next_report(receive, swarm)
                look = report is None and not stop.is_set()
                if report is None:
                    if swarm.escalation is not None and self.wait_for_people:
                        swarm = await self._escalation_answered(swarm)
                    continue
                # Every report already there is taken together: one save for all of them.
                batch = [report, *_drain(receive)]
                before = swarm
                for report in batch:
                    if report is None:
                        continue  # a wake-up (a stop): seen at the top of the loop
                    task = swarm.task(report.task)
                    if task.generation != report.generation or task.attempt != report.attempt:
                        continue  # a report of a run the swarm has moved past (cancelled by a re-plan)
                    if report.run.status is RunStatus.WAITING:
                        asking.add(task.id)
                        swarm = await self._waiting(swarm, task, report.run)
                        continue
                    live.pop(task.id, None)
                    overran = task.credits is not None and report.run.usage.credits > task.credits
                    if report.run.status is RunStatus.COMPLETED and not overran:
                        swarm = self._completed(swarm, task, report.run)
                    else:
                        swarm = self._failed(swarm, task, report.run)
                        failed = failed or swarm.task(task.id)
                if swarm is not before:
                    await self._save(swarm)
                if failed is None and self.criteria is not None and await _maybe(self.criteria(swarm)):
                    for scope in live.values():
                        scope.cancel()
                    return await self._finish(swarm, SwarmStatus.COMPLETED, "the objective's criteria are met", cancel=True)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _next_report(self, receive: Any, swarm: Swarm) -> _Report | None:
        """The next task report, or ``None`` after ``poll`` seconds without one (or at a stop)."""
        timeout = self.poll
        if swarm.limits.seconds is not None and swarm.started_at is not None:
            timeout = max(0.0, min(timeout, swarm.started_at + swarm.limits.seconds - self._now()))
        with anyio.move_on_after(timeout):
            report: _Report | None = await receive.receive()
            return report
        return None

    def _ready(self, swarm: Swarm) -> list[SwarmTask]:
        done = {t.id for t in swarm.tasks if t.status in _DONE}
        return [t for t in swarm.current_tasks() if t.status is TaskStatus.PENDING and all(d in done for d in t.depends_on)]

    def _out_of_rounds(self, swarm: Swarm) -> bool:
        return swarm.limits.rounds is not None and swarm.rounds >= swarm.limits.rounds

    async def _ended(self, swarm: Swarm, stop: anyio.Event, look: bool) -> tuple[Swarm, SwarmStatus, str] | None:
        """Whether a termination condition holds: a person's stop (asked here, or, when ``look``,
        stored by another process), the credits, the time."""
        reason = self._stop_reasons.get(swarm.id) if stop.is_set() else None
        if reason is None and look:
            reason = await self.store.stop_requested(swarm.id)
            await self._heartbeat(swarm)
        if reason is not None:
            swarm = self._log(attrs.evolve(swarm, stop=reason), "swarm.stop_requested", reason=reason)
            return swarm, SwarmStatus.CANCELLED, reason
        limits = swarm.limits
        if limits.credits is not None and swarm.spent >= limits.credits and any(t.status not in _DONE for t in swarm.current_tasks()):
            return swarm, SwarmStatus.FAILED, f"the credit budget is exhausted ({swarm.spent:g} of {limits.credits:g} spent)"
        if limits.seconds is not None and swarm.started_at is not None and self._now() - swarm.started_at >= limits.seconds:
            return swarm, SwarmStatus.FAILED, f"the time limit of {limits.seconds:g} s is reached"
        return None

    # -- planning -----------------------------------------------------------------------------

    async def _plan(
        self,
        swarm: Swarm,
        team: Team,
        given: Plan | None,
        problems: Iterable[PlanProblem] = (),
        excluded: Mapping[str, Iterable[str]] | None = None,
    ) -> Swarm:
        agents = [team.agent(name) for name in swarm.agents]
        candidates = candidates_of(agents, team.people)
        capabilities = sorted(set().union(*(c.capabilities for c in candidates)) if candidates else set())
        routines = [r for r in sorted({r for a in agents for r in a.routines}) if await self._registered(r)]
        candidates = [attrs.evolve(c, capabilities=c.capabilities | _routine_caps(team, c.name, c.kind)) for c in candidates]
        budget = None if swarm.limits.credits is None else max(swarm.limits.credits - swarm.spent, 0.0)
        done = {t.id: swarm.blackboard.get(f"task.{t.id}") for t in swarm.tasks if t.status in _DONE}
        labels = {SWARM_LABEL: swarm.id}
        try:
            if given is not None:
                found = check_plan(_needing_routines(given), capabilities=capabilities + _caps_of(routines), routines=routines, budget=budget, done=done)
                if found:
                    raise PlanError(found)
                plan, runs = given, ()  # type: tuple[Plan, tuple[str, ...]]
            else:
                assert self.planner is not None
                limits = Limits(max_credits=budget) if budget is not None else None
                attempts: tuple[Any, ...] = ()
                try:
                    result = await make_plan(
                        self.engine,
                        self.planner,
                        swarm.objective,
                        capabilities=capabilities,
                        routines=routines,
                        budget=budget,
                        attempts=self.plan_attempts,
                        limits=limits,
                        labels=labels,
                        done=done,
                        problems=problems,
                    )
                    attempts = result.attempts
                except PlanningError as exc:
                    attempts = exc.attempts
                    raise
                finally:
                    swarm = await self._charge_runs(swarm, [a.run_id for a in attempts])
                plan, runs = result.plan, tuple(a.run_id for a in attempts)
            chooser_runs: list[str] = []
            try:
                assignments = await assign_tasks(
                    _needing_routines(plan), candidates, chooser=self._chooser(swarm, team, chooser_runs), excluded=excluded, done=done
                )
            finally:
                swarm = await self._charge_runs(swarm, chooser_runs)
        except (PlanError, AssignmentError) as exc:
            tried = [attrs.asdict(a) for a in getattr(exc, "attempts", ())]
            swarm = self._log(swarm, "swarm.plan_rejected", reason=str(exc), code=exc.code, attempts=tried)
            return await self._finish(swarm, SwarmStatus.FAILED, f"no plan can run: {exc}")
        generation = swarm.replans
        tasks = self._allocate(team, plan, assignments, generation, budget)
        swarm = attrs.evolve(swarm, plan=plan, tasks=(*swarm.tasks, *tasks))
        swarm = self._log(
            swarm,
            "swarm.replanned" if generation else "swarm.planned",
            tasks=[attrs.asdict(t) for t in plan.tasks],
            planner_runs=list(runs),
            generation=generation,
        )
        for task in tasks:
            swarm = self._log(swarm, "task.assigned", task=task.id, assignee=task.assignee, kind=task.kind, how=task.how, credits=task.credits)
        swarm = swarm.transition(SwarmStatus.RUNNING)
        await self._save(swarm)
        return swarm

    def _chooser(self, swarm: Swarm, team: Team, runs: list[str]) -> Chooser | None:
        if self.chooser != "model":
            return self.chooser  # type: ignore[return-value]
        from vrooli_core.coordination.chooser import default_chooser, routine_chooser

        profiles = {a.name: {"role": a.role, "goal": a.goal} for a in team.agents}
        profiles.update({p.id: {"role": ", ".join(p.roles), "name": p.name} for p in team.people})
        labels = {SWARM_LABEL: swarm.id, TASK_LABEL: "assignment"}
        return routine_chooser(self.engine, default_chooser(self.chooser_model), labels=labels, profiles=profiles, runs=runs)

    async def _registered(self, routine_id: str) -> bool:
        try:
            await self.engine.latest(routine_id)
        except NotFoundError:
            return False
        return True

    async def _charge_runs(self, swarm: Swarm, run_ids: Iterable[str]) -> Swarm:
        """Count what the swarm's own runs spent: the planner's, the chooser's."""
        spent = cost = 0.0
        for run_id in run_ids:
            usage = (await self.engine.get_run(run_id)).usage
            spent, cost = spent + usage.credits, cost + usage.cost
        return attrs.evolve(swarm, spent=swarm.spent + spent, cost=swarm.cost + cost)

    def _allocate(
        self, team: Team, plan: Plan, assignments: list[Assignment], generation: int, budget: float | None
    ) -> list[SwarmTask]:
        """Tasks with their share of the credits left. Agents' tasks share it in proportion to their
        estimates (a task without one weighs as much as the average estimated task; all equal when
        nothing is estimated), each capped by the agent's own budget. People's tasks spend no
        credits and get no limit."""
        by_task = {a.task: a for a in assignments}
        agents_tasks = [t for t in plan.tasks if by_task[t.id].kind == "agent"]
        estimated = [t.estimate for t in agents_tasks if t.estimate > 0]
        usual = sum(estimated) / len(estimated) if estimated else 1.0
        weights = {t.id: t.estimate if t.estimate > 0 else usual for t in agents_tasks}
        total = sum(weights.values())
        tasks = []
        for planned in plan.tasks:
            a = by_task[planned.id]
            share: float | None = None
            if a.kind == "agent":
                if budget is not None and total > 0:
                    share = budget * weights[planned.id] / total
                own = team.agent(a.assignee).budget
                if own is not None:
                    share = own if share is None else min(share, own)
            tasks.append(
                SwarmTask(
                    planned.id,
                    planned.title,
                    a.assignee,
                    a.kind,
                    a.how,
                    planned.depends_on,
                    credits=None if share is None else round(share, 6),
                    generation=generation,
                )
            )
        return tasks

    # -- tasks --------------------------------------------------------------------------------

    def _begin(self, swarm: Swarm, task: SwarmTask) -> Swarm:
        """``task`` running under a new run id (stored, by the caller, before the run exists)."""
        attempt = task.attempt + 1
        run_id = f"{swarm.id}.{task.id}.g{task.generation}.a{attempt}"
        swarm = self._update(swarm, task, status=TaskStatus.RUNNING, run_id=run_id, attempt=attempt, error=None, code=None)
        swarm = attrs.evolve(swarm, rounds=swarm.rounds + 1)
        return self._log(swarm, "task.started", task=task.id, assignee=task.assignee, run=run_id, attempt=attempt)

    async def _task_run(self, swarm: Swarm, team: Team, task: SwarmTask, send: Any, scope: anyio.CancelScope, fresh: bool) -> None:
        """Run ``task`` (``fresh``: its run id was just given, so no run of it exists yet; else look
        for the run first: a swarm resumed after a restart)."""
        with scope:
            assert task.run_id is not None
            run = None if fresh else await self._stored_run(task.run_id)
            if run is None:
                routine, inputs, labels, compressed = self._task_work(swarm, team, task)
                routine = await self._routine(routine)
                if compressed:
                    self._publish(swarm, SwarmEvent(0, "context.compressed", self._now(), {"task": task.id, "cut": list(compressed)}))
                limits = Limits(max_credits=task.credits) if task.credits is not None else None
                run = await self.engine.run(routine, inputs, limits=limits, labels=labels, run_id=task.run_id)
            elif not run.status.finished:
                # Left by an engine that stopped (a restart): move it here, from where it is.
                run = await self.engine.resume(run.id)
            await send.send(_Report(task.id, task.generation, task.attempt, run))
            if run.status is RunStatus.WAITING and self.wait_for_people:
                run = await self.engine.wait(run.id, finished=True)
                await send.send(_Report(task.id, task.generation, task.attempt, run))

    async def _stored_run(self, run_id: str) -> Run | None:
        try:
            return await self.engine.get_run(run_id)
        except NotFoundError:
            return None

    async def _routine(self, routine: Any) -> Any:
        """A routine id's latest version; a one-step routine's source loaded once per runner."""
        if isinstance(routine, str):
            return await self.engine.latest(routine)
        known = self._loaded.get(routine.text)
        if known is None:
            known = self._loaded[routine.text] = await self.engine.load(routine)
        return known

    def _task_work(self, swarm: Swarm, team: Team, task: SwarmTask) -> tuple[Any, dict[str, Any], dict[str, str], tuple[str, ...]]:
        """The routine, inputs and labels of ``task``'s run."""
        planned = swarm.plan.task(task.id) if swarm.plan is not None else None
        labels = {SWARM_LABEL: swarm.id, TASK_LABEL: task.id}
        if task.kind == "person":
            person = _person(team, task.assignee)
            context = build_context(team, swarm, task.id, person)
            step = {
                "kind": "human",
                "name": task.title,
                "config": {"assignee": person.id, "description": planned.description if planned else "", "form": {"task": task.id}},
            }
            return task_routine("swarm.person-task", step, name="A swarm task for a person"), dict(context.inputs), labels, ()
        agent = team.agent(task.assignee)
        context = build_context(team, swarm, task.id, agent, max_tokens=self.context_tokens)
        labels.update(agent_labels(agent.name, agent.tools, agent.routines))
        if planned is not None and planned.routine is not None:
            return planned.routine, dict(context.inputs), labels, context.compressed
        return _agent_routine(agent), dict(context.inputs), labels, context.compressed

    async def _waiting(self, swarm: Swarm, task: SwarmTask, run: Run) -> Swarm:
        if task.status is TaskStatus.WAITING:
            return swarm
        open_tasks = [w.id for w in await self.engine.tasks(run_id=run.id)]
        swarm = self._update(swarm, task, status=TaskStatus.WAITING)
        return self._log(swarm, "task.waiting", task=task.id, assignee=task.assignee, run=run.id, human_tasks=open_tasks)

    def _completed(self, swarm: Swarm, task: SwarmTask, run: Run) -> Swarm:
        outputs = dict(run.outputs or {})
        result = outputs.get("result", outputs) if set(outputs) <= {"result"} else outputs
        swarm = self._spend(swarm, task, run, status=TaskStatus.COMPLETED)
        by_kind = WriterKind.PERSON if task.kind == "person" else WriterKind.AGENT
        key = f"task.{task.id}"
        swarm = swarm.write(key, result, by=task.assignee, at=self._now(), by_kind=by_kind, run_id=run.id)
        swarm = self._log(swarm, "task.completed", task=task.id, assignee=task.assignee, run=run.id, credits=run.usage.credits)
        return self._log(swarm, "blackboard.updated", key=key, by=task.assignee, run=run.id)

    def _failed(self, swarm: Swarm, task: SwarmTask, run: Run) -> Swarm:
        """``task``'s run failed, was cancelled, or spent more than the task was given (its result
        is then not used: the budget is the contract)."""
        error = run.error
        if run.status is RunStatus.COMPLETED:
            code, message = "limit_exceeded", f"its run spent {run.usage.credits:g} credits, over the {task.credits:g} it was given"
        else:
            code = error.code if error is not None else str(run.status)
            message = error.message if error is not None else f"its run was {run.status}"
        overrun = code == "limit_exceeded"
        swarm = self._spend(swarm, task, run, status=TaskStatus.FAILED, error=message, code=code)
        return self._log(swarm, "task.failed", task=task.id, assignee=task.assignee, run=run.id, code=code, error=message, overrun=overrun)

    def _spend(self, swarm: Swarm, task: SwarmTask, run: Run, **changes: Any) -> Swarm:
        swarm = self._update(swarm, task, spent=task.spent + run.usage.credits, cost=task.cost + run.usage.cost, **changes)
        return attrs.evolve(swarm, spent=swarm.spent + run.usage.credits, cost=swarm.cost + run.usage.cost)

    # -- adaptation ---------------------------------------------------------------------------

    async def _adapt(self, swarm: Swarm, team: Team, failed: SwarmTask) -> Swarm:
        """After a failed task, once nothing runs: re-plan, ask a person, or fail."""
        if self.on_failure == "replan" and swarm.replans < swarm.limits.replans and self.planner is not None:
            problem = PlanProblem("task_failed", f"task {failed.id!r} ({failed.title}) failed for {failed.assignee}: {failed.error}", failed.id)
            swarm = self._drop_pending(swarm)
            swarm = attrs.evolve(swarm.transition(SwarmStatus.PLANNING), replans=swarm.replans + 1)
            await self._save(swarm)
            return await self._plan(swarm, team, None, problems=[problem], excluded={failed.id: [failed.assignee]})
        if self.on_failure != "fail" and self.escalate_to is not None:
            return await self._escalate(swarm, team, failed)
        return await self._finish(swarm, SwarmStatus.FAILED, f"task {failed.id!r} failed: {failed.error}")

    def _drop_pending(self, swarm: Swarm) -> Swarm:
        """The current plan's tasks that never finished are cancelled: a new plan replaces them."""
        for task in swarm.current_tasks():
            if task.status is TaskStatus.PENDING:
                swarm = self._update(swarm, task, status=TaskStatus.CANCELLED)
        return swarm

    async def _escalate(self, swarm: Swarm, team: Team, failed: SwarmTask) -> Swarm:
        assert self.escalate_to is not None
        person = _person(team, self.escalate_to)
        step = {
            "kind": "human",
            "name": f"Swarm task {failed.id!r} failed",
            "config": {
                "assignee": person.id,
                "options": ["retry", "skip", "stop"],
                "description": f"Task {failed.id!r} ({failed.title}) failed for {failed.assignee}: {failed.error}",
                "form": {"swarm": swarm.id, "task": failed.id},
            },
        }
        run_id = f"{swarm.id}.escalation.{failed.id}.a{failed.attempt}"
        swarm = attrs.evolve(swarm, escalation=run_id)
        swarm = self._log(swarm, "swarm.escalated", task=failed.id, to=person.id, run=run_id)
        await self._save(swarm)
        labels = {SWARM_LABEL: swarm.id, TASK_LABEL: f"escalation:{failed.id}"}
        await self.engine.run(task_routine("swarm.escalation", step), {"task": failed.id, "error": failed.error}, labels=labels, run_id=run_id)
        if self.wait_for_people:
            await self.engine.wait(run_id, finished=True)
        return await self._escalation_answered(swarm)

    async def _escalation_answered(self, swarm: Swarm) -> Swarm:
        """Apply a person's answer to an escalation, if there is one yet."""
        assert swarm.escalation is not None
        run = await self.engine.get_run(swarm.escalation)
        if not run.status.finished:
            return swarm
        answer = (run.outputs or {}).get("result")
        if isinstance(answer, Mapping):
            answer = answer.get("choice") or answer.get("option") or answer.get("answer")
        failed = next(t for t in reversed(swarm.current_tasks()) if t.status is TaskStatus.FAILED)
        swarm = attrs.evolve(swarm, escalation=None)
        swarm = self._log(swarm, "swarm.escalation_answered", task=failed.id, answer=str(answer), run=run.id)
        if run.status is RunStatus.COMPLETED and answer == "retry":
            swarm = self._update(swarm, failed, status=TaskStatus.PENDING)
        elif run.status is RunStatus.COMPLETED and answer == "skip":
            swarm = self._update(swarm, failed, status=TaskStatus.SKIPPED)
        else:
            return await self._finish(swarm, SwarmStatus.FAILED, f"task {failed.id!r} failed and {self.escalate_to} answered {answer!r}")
        await self._save(swarm)
        return swarm

    # -- ending -------------------------------------------------------------------------------

    async def _finish(self, swarm: Swarm, status: SwarmStatus, reason: str, *, cancel: bool = False) -> Swarm:
        if cancel or status is not SwarmStatus.COMPLETED:
            for task in swarm.current_tasks():
                if task.status in _LIVE and task.run_id is not None:
                    try:
                        await self.engine.cancel(task.run_id, reason=f"swarm {swarm.id}: {reason}")
                    except Exception:  # a run that already finished, or is not found: nothing to cancel
                        pass
                if not task.status.finished:
                    swarm = self._update(swarm, task, status=TaskStatus.CANCELLED)
        swarm = attrs.evolve(swarm.transition(status), reason=reason)
        swarm = attrs.evolve(swarm, report=report(swarm))
        swarm = self._log(swarm, f"swarm.{status.value}", reason=reason, spent=swarm.spent, rounds=swarm.rounds)
        await self._save(swarm)
        return swarm

    # -- bookkeeping --------------------------------------------------------------------------

    def _update(self, swarm: Swarm, task: SwarmTask, **changes: Any) -> Swarm:
        tasks = tuple(attrs.evolve(t, **changes) if t is task else t for t in swarm.tasks)
        return attrs.evolve(swarm, tasks=tasks)

    def _log(self, swarm: Swarm, type_: str, **data: Any) -> Swarm:
        event = SwarmEvent(len(swarm.events) + 1, type_, self._now(), _as_json(data))
        swarm = attrs.evolve(swarm, events=(*swarm.events, event))
        self._publish(swarm, event)
        return swarm

    def _publish(self, swarm: Swarm, event: SwarmEvent) -> None:
        if self.engine.bus:
            self.engine.bus.publish(Event(swarm.id, event.seq, event.at, event))
        if self.on_event is not None:
            self.on_event(swarm, event)

    async def _save(self, swarm: Swarm) -> None:
        await self.store.put_swarm(swarm)

    async def _heartbeat(self, swarm: Swarm) -> None:
        """Say that this runner moves ``swarm`` for a while (``stop`` elsewhere then leaves the
        winding down to it)."""
        await self.store.set_mover(swarm.id, self._owner, self._now() + max(3 * self.poll, 10.0))

    def _now(self) -> float:
        return time.time()


def _agent_routine(agent: Agent) -> Any:
    """The one-step routine in which ``agent`` does a task with its persona, model and tools."""
    config: dict[str, Any] = {"persona": {"role": agent.role, "goal": agent.goal, "instructions": agent.instructions}}
    if agent.model:
        config["model"] = agent.model
    if agent.tools:
        config["tools"] = list(agent.tools)
    step = {"kind": "model", "strategy": "reasoning" if agent.tools else "auto", "config": config, "name": f"{agent.name} works on a task"}
    return task_routine(f"agent.{agent.name}", step, name=f"{agent.name} ({agent.role})")


def _routine_caps(team: Team, name: str, kind: str) -> frozenset[str]:
    """An agent may run the routines it was given: to assignment, ``routine:<id>`` capabilities."""
    return frozenset(f"routine:{r}" for r in team.agent(name).routines) if kind == "agent" else frozenset()


def _caps_of(routines: Iterable[str]) -> list[str]:
    return [f"routine:{r}" for r in routines]


def _needing_routines(plan: Plan) -> Plan:
    """``plan`` with every task that names a routine also needing ``routine:<id>``: only an agent
    given that routine can be assigned it."""
    return Plan(tuple(attrs.evolve(t, capabilities=(*t.capabilities, f"routine:{t.routine}")) if t.routine else t for t in plan.tasks))


def _person(team: Team, person_id: str) -> Member:
    for member in team.people:
        if member.id == person_id:
            return member
    known = ", ".join(p.id for p in team.people) or "none"
    raise CoordinationError(f"team {team.id!r} has no person {person_id!r} (people: {known})")


def report(swarm: Swarm) -> str:
    """A plain-text final report: outcome, spend, every task of the latest plan, blackboard keys."""
    lines = [
        f"Swarm {swarm.id}: {swarm.status.value}" + (f" ({swarm.reason})" if swarm.reason else ""),
        f"Objective: {swarm.objective}",
        f"Spent: {swarm.spent:g} credits, ${swarm.cost:.4f}; {swarm.rounds} task runs; {swarm.replans} re-plans",
        "Tasks:",
    ]
    for task in swarm.tasks:
        budget = "" if task.credits is None else f" of {task.credits:g}"
        why = f" — {task.error}" if task.error and task.status is TaskStatus.FAILED else ""
        lines.append(f"  [{task.status.value}] {task.id} ({task.title}) by {task.assignee}: {task.spent:g}{budget} credits{why}")
    keys = list(swarm.blackboard)
    lines.append("Blackboard: " + (", ".join(keys) if keys else "empty"))
    return "\n".join(lines)


def _drain(receive: Any) -> list[_Report | None]:
    """The reports already waiting in the stream, without waiting for more."""
    found: list[_Report | None] = []
    while True:
        try:
            found.append(receive.receive_nowait())
        except anyio.WouldBlock:
            return found


async def _maybe(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value
