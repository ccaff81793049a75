"""The Engine: load routines, run them, and let people and systems interact with running runs."""

from __future__ import annotations

import contextlib
import heapq
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import attrs
import cattrs

from vrooli_core.clock import Clock, SystemClock
from vrooli_core.engine.cache import ResultCache
from vrooli_core.engine.children import ChildRuns
from vrooli_core.engine.leases import Leases, new_owner
from vrooli_core.engine.mover import RunMover
from vrooli_core.engine.navigator import Navigator
from vrooli_core.engine.outbox import Outbox
from vrooli_core.engine.paths import PathPolicy, PathSelector
from vrooli_core.engine.routine_tools import RoutineTools
from vrooli_core.engine.runtime import RunRuntime
from vrooli_core.engine.services import StepServicesMixin
from vrooli_core.engine.starts import StartTriggers
from vrooli_core.engine.state import RunState, replay
from vrooli_core.engine.timetravel import TimeTravel
from vrooli_core.errors import (
    ConfigError,
    DuplicateEventError,
    LeaseHeldError,
    NotFoundError,
    RoutineError,
    RunError,
    UnknownPluginError,
)
from vrooli_core.events import EventBus
from vrooli_core.execution.executor import Executor, default_auto_policy
from vrooli_core.execution.safety import SafetyCheck, SafetyPoint
from vrooli_core.execution.tools import ToolSpec, tool
from vrooli_core.model import (
    Decision,
    Event,
    Graph,
    Limits,
    Outcome,
    RoutineDef,
    RoutineRef,
    RoutineSource,
    Run,
    RunStatus,
    StepDef,
    Wait,
    WaitKind,
)
from vrooli_core.model.events import Decided, RunCancelled, RunCreated, RunFailed, RunPaused, RunResumed, VariablesSet
from vrooli_core.model.run import UNFINISHED
from vrooli_core.plugins import PluginHost, Registry
from vrooli_core.serialization import make_converter
from vrooli_core.storage.base import StorageBackend, StoredRoutine
from vrooli_core.tracing import get_tracer, tracing_enabled

RoutineLike = RoutineDef | RoutineSource | str | Path
_ENDS = ("run.completed", "run.failed", "run.cancelled")


class Engine(RunMover, StepServicesMixin, ChildRuns, RoutineTools, StartTriggers, Leases, Outbox, ResultCache, TimeTravel):
    """Runs routines. Open one with :meth:`open` (``async with``); :class:`SyncEngine` wraps it for
    synchronous code.

    Every method that moves a run (``run``, ``complete_task``, ``send_message``, …) returns when the
    runs it touched rest: completed, failed, cancelled, paused, or waiting for something outside.
    """

    def __init__(
        self,
        storage: StorageBackend,
        *,
        host: PluginHost | None = None,
        clock: Clock | None = None,
        path_policy: PathPolicy | str = PathPolicy.FIRST,
        max_concurrency: int = 32,
        safety_checks: Iterable[str] | None = None,
        tools: Iterable[Any] = (),
        converter: cattrs.Converter | None = None,
        max_cached_runs: int = 10_000,
        tracer_provider: Any = None,
        lease: float = 30.0,
        owner: str | None = None,
        move_runs: bool = True,
        batch_events: int = 256,
    ) -> None:
        self.host = host or PluginHost.create()
        self.storage = storage
        self.converter = converter or make_converter()
        self.clock: Clock = clock or SystemClock()
        try:
            self.path_policy = PathPolicy(path_policy)
        except ValueError:
            raise ConfigError(f"unknown path policy {path_policy!r} (first, manual or model)") from None
        if max_concurrency < 1:
            raise ConfigError("max_concurrency must be at least 1")
        self.max_concurrency = max_concurrency
        self.max_cached_runs = max_cached_runs
        if lease <= 0:
            raise ConfigError("lease must be a positive number of seconds")
        #: How long this engine's lease on a run lasts unless renewed (seconds, wall clock).
        self.lease_seconds = float(lease)
        #: Who this engine is to the other engines on the store (lease holder name).
        self.owner = owner or new_owner()
        self._held: set[str] = set()
        #: False: this engine records what callers do (runs started, tasks answered, messages,
        #: signals, variables) and leaves moving runs, and firing timers, to workers on the store.
        self.move_runs = move_runs
        if batch_events < 1:
            raise ConfigError("batch_events must be at least 1")
        #: Side-effect-free step completions stored together, up to this many events per commit
        #: (1: every transition is its own commit). Anything visible outside the run is stored at once.
        self.batch_events = batch_events
        self._idle: set[str] = set()
        self.bus = EventBus()
        self.tracer = get_tracer(tracer_provider)
        #: Spans cost a few microseconds even when nothing records them: only make them when a provider is set.
        self.tracing = tracing_enabled(tracer_provider)
        self.tools: Registry[ToolSpec] = Registry("tool", dict(self.host.tools()), {})
        for fn in tools:
            self.register_tool(fn)
        checks = self.host.safety_checks()
        names = list(checks) if safety_checks is None else list(safety_checks)
        self.safety_checks: list[SafetyCheck] = [checks[n]() for n in names]
        #: The checks consulted at each point, in order (most steps pass points no check watches).
        self._checks_at = {point: [c for c in self.safety_checks if point in c.points] for point in SafetyPoint}
        #: Agent runs may start only the routines they were granted (``agent-permissions`` enabled).
        self._checks_routines = any(c.name == "agent-permissions" for c in self.safety_checks)
        registry = self.host.strategies()
        # A plugin's strategy for a step kind wins over the kernel's builtin for that kind.
        ranked = sorted(registry.items(), key=lambda item: self.host.is_builtin(registry.owners[item[0]]))
        strategies = {name: cls() for name, cls in ranked}
        names = sorted(strategies)
        choose = self.host.pm.hook.vrooli_choose_strategy

        def auto(step: StepDef) -> str | None:
            chosen = choose(step=step, strategies=names)
            if chosen is not None and chosen not in strategies:
                raise UnknownPluginError("strategy (chosen by a plugin for an auto step)", str(chosen), names)
            return chosen if chosen is not None else default_auto_policy(step)

        # Without a plugin that chooses strategies the choice is fixed per step: resolved once.
        self.executor = Executor(strategies, auto, stable=not choose.get_hookimpls())
        self._navigators: dict[str, Navigator] = {}
        self._graphs: dict[tuple[str, str], Graph] = {}
        self._runs: dict[str, RunRuntime] = {}
        #: Runs being loaded into ``_runs`` right now, and what their other callers wait on.
        self._loading: dict[str, anyio.Event] = {}
        self._summary_seq: dict[str, int] = {}
        self._summary_status: dict[str, RunStatus] = {}
        self._timers: list[tuple[float, str, str]] = []
        self._timer_wake: anyio.Event | None = None
        self._start_timers: list[tuple[float, str, str, str, int]] = []
        self._starts_lock = anyio.Lock()
        self._selector: PathSelector | None = None
        self._tg: Any = None

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    @asynccontextmanager
    async def open(cls, store: str | StorageBackend | None = None, **kwargs: Any) -> AsyncIterator[Engine]:
        """Open storage (a URL, or a backend instance), start the timer service, yield the engine.
        Without ``store``: a SQLite file in the user's data directory when vrooli-sqlalchemy is
        installed (``vrooli_core.storage.default``), else ``memory://``."""
        host: PluginHost = kwargs.pop("host", None) or PluginHost.create()
        if store is None:
            from vrooli_core.storage.default import default_store_url

            store = default_store_url(host)
        converter = kwargs.pop("converter", None) or make_converter()
        host.configure_converter(converter)
        if isinstance(store, StorageBackend):
            storage = store
            # A backend made by the caller keeps its converter; give it the plugins' types too.
            if getattr(storage, "converter", None) is not None:
                host.configure_converter(storage.converter)  # type: ignore[attr-defined]
                converter = storage.converter  # type: ignore[attr-defined]
        else:
            storage = open_storage(host, store, converter)
        await storage.open()
        resources = contextlib.AsyncExitStack()
        try:
            engine = cls(storage, host=host, converter=converter, **kwargs)
            for held in host.pm.hook.vrooli_engine_resources(engine=engine):
                if held is not None:
                    await resources.enter_async_context(held)
            await engine._load_timers()
            await engine._send_left()
            error: BaseException | None = None
            async with anyio.create_task_group() as tg:
                engine._tg = tg
                if engine.move_runs and not hasattr(engine.clock, "advance"):  # a real clock: fire timers in the background
                    tg.start_soon(engine._timer_service)
                tg.start_soon(engine._keep_leases)
                try:
                    yield engine
                except BaseException as exc:  # re-raised below, so callers don't get a task-group wrapper
                    error = exc
                finally:
                    engine._tg = None
                    tg.cancel_scope.cancel()
            with anyio.CancelScope(shield=True):
                await engine._release_all()
                await engine.executor.aclose()
            if error is not None:
                raise error
        finally:
            try:
                with anyio.CancelScope(shield=True):
                    await resources.aclose()
            finally:
                await storage.close()

    def register_tool(self, fn: Any) -> ToolSpec:
        spec = fn if isinstance(fn, ToolSpec) else getattr(fn, "__vrooli_tool__", None) or tool(fn).__vrooli_tool__
        self.tools.add(spec.name, spec, "engine")
        return spec

    # -- routines -----------------------------------------------------------------------------

    def navigator(self, name: str) -> Navigator:
        nav = self._navigators.get(name)
        if nav is None:
            nav = self._navigators[name] = self.host.navigators()[name]()
        return nav

    def parse(self, source: RoutineLike, *, format: str | None = None) -> tuple[Navigator, Graph, RoutineSource]:
        """Parse a routine (a path, a :class:`RoutineSource`, or routine text with ``format``)."""
        src = read_source(source, format)
        if src.format:
            nav = self.navigator(src.format)
        else:
            names = [n for n in self.host.navigators() if self.navigator(n).accepts(src)]
            if not names:
                installed = ", ".join(f"{n} ({', '.join(c.suffixes) or 'by content'})" for n, c in self.host.navigators().items())
                raise RoutineError(
                    f"no installed navigator reads this file (installed: {installed or 'none'}); "
                    "install the plugin for its format (e.g. vrooli-bpmn for .bpmn files) or pass its format",
                    source=src.path,
                )
            nav = self.navigator(names[0])
        graph = nav.load(src)
        if graph.routine.format != nav.name:
            graph = attrs.evolve(graph, routine=attrs.evolve(graph.routine, format=nav.name))
        return nav, graph, src

    async def load(self, source: RoutineLike, *, format: str | None = None) -> RoutineDef:
        """Parse and register a routine version. Without a declared version, the same content keeps its
        version and changed content becomes the next one (1, 2, …). The version loaded last owns the
        routine's start triggers (as a deployment does in Camunda): its timer starts are scheduled on
        the engine clock, replacing another version's schedule; reloading the same version keeps it."""
        nav, graph, src = self.parse(source, format=format)
        routine = graph.routine
        if not routine.version:
            known = await self.storage.list_routines(routine.id)
            same = [r for r in known if r.content_hash == routine.content_hash]
            version = same[-1].version if same else str(1 + max((int(r.version) for r in known if r.version.isdigit()), default=0))
            routine = attrs.evolve(routine, version=version)
            graph = attrs.evolve(graph, routine=routine)
        async with self._starts_lock:
            starts = await self._starts_doc(nav, graph)  # first: a timer that cannot be scheduled stores nothing
            await self.storage.put_routine(StoredRoutine(routine, src.text, src.path))
            self._graphs[(routine.id, routine.version)] = graph
            if starts is not None:
                await self._put_starts(routine.id, starts)
        return routine

    async def graph(self, routine_id: str, version: str) -> Graph:
        graph = self._graphs.get((routine_id, version))
        if graph is None:
            stored = await self.storage.get_routine(routine_id, version)
            nav = self.navigator(stored.routine.format)
            graph = nav.load(RoutineSource(stored.source, stored.path, stored.routine.format))
            graph = attrs.evolve(graph, routine=stored.routine)
            self._graphs[(routine_id, version)] = graph
        return graph

    async def latest(self, routine_id: str) -> RoutineDef:
        versions = await self.storage.list_routines(routine_id)
        if not versions:
            raise NotFoundError(f"no routine {routine_id!r} is registered")
        return max(versions, key=lambda r: (r.version.isdigit(), int(r.version) if r.version.isdigit() else 0, r.version))

    # -- starting runs ------------------------------------------------------------------------

    async def start(
        self,
        routine: RoutineLike,
        inputs: Mapping[str, Any] | None = None,
        *,
        limits: Limits | None = None,
        labels: Mapping[str, str] | None = None,
        run_id: str | None = None,
    ) -> Run:
        """Create a run and let it move in the background (or, with ``move_runs=False``, leave it
        to the workers); returns its record at once."""
        rt = await self._create(routine, inputs, limits=limits, labels=labels, run_id=run_id)
        if self.move_runs:
            self._spawn(rt)
        else:
            await self._rest(rt)
        return rt.state.summary()

    async def run(
        self,
        routine: RoutineLike,
        inputs: Mapping[str, Any] | None = None,
        *,
        limits: Limits | None = None,
        labels: Mapping[str, str] | None = None,
        run_id: str | None = None,
    ) -> Run:
        """Create a run and move it until it rests (completed, failed, paused or waiting)."""
        rt = await self._create(routine, inputs, limits=limits, labels=labels, run_id=run_id)
        await self._kick(rt)
        return await self._settled(rt)

    async def _create(
        self,
        routine: RoutineLike,
        inputs: Mapping[str, Any] | None,
        *,
        limits: Limits | None = None,
        labels: Mapping[str, str] | None = None,
        run_id: str | None = None,
        parent: tuple[str, str] | None = None,
        start: str | None = None,
    ) -> RunRuntime:
        definition = routine if isinstance(routine, RoutineDef) else await self.load(routine)
        graph = await self.graph(definition.id, definition.version)
        inputs = self._storable(dict(inputs or {}), "the inputs")
        _validate_inputs(graph.routine, inputs)
        ref = RoutineRef(definition.id, definition.version, definition.content_hash, definition.format)
        created = RunCreated(ref, inputs, limits or Limits(), parent[0] if parent else None, parent[1] if parent else None, dict(labels or {}), start)
        run_id = run_id or uuid.uuid4().hex
        # The run's lease: taken by its first commit where the store can, else before anything.
        take = self.storage.commit_leases
        if not take:
            await self._hold(run_id, wait=0)
        now = self.clock.now()
        state = RunState.created(run_id, now, created)
        state.seq = 1
        rt = RunRuntime(state, graph, self.navigator(definition.format))
        decision, err = await self._ask(rt, None, rt.nav.start)
        # The creation and the start decision are one commit: a run is never stored half-started.
        events = [Event(run_id, 1, now, created)]
        try:
            if err is not None:
                fx = self._apply(rt, Decided("start", Decision()), events)
                await self._commit(rt, events, self._apply(rt, RunFailed(err), events, fx), summary=True, take=take)
            else:
                fx = await self._record_decision(rt, Decided("start", decision), decision, events, take=take)  # type: ignore[arg-type]
        except LeaseHeldError as exc:
            raise RunError(f"another engine ({exc.holder}) holds the lease on this run id", run_id=run_id, code="leased") from exc
        self._runs[run_id] = rt
        await self._after(rt, fx)
        return rt

    def _spawn(self, rt: RunRuntime) -> None:
        if self._tg is None:
            raise RunError("Engine.start needs an engine opened with Engine.open (it owns the background tasks)")
        if not rt.driving:
            rt.start_driving()  # at once, so wait() called right after start() waits for the driver
            self._tg.start_soon(self._drive, rt, True)

    def _storable(self, value: Any, what: str) -> Any:
        """``value`` as it will be stored (plugins' types through the converter), or a RunError."""
        value, bad = self._normalised(value)
        if bad is not None:
            raise RunError(f"{what} cannot be stored (JSON types only): {bad}", code="unstorable_value")
        return value

    # -- reading ------------------------------------------------------------------------------

    async def get_run(self, run_id: str) -> Run:
        rt = self._runs.get(run_id)
        if rt is not None and (rt.driving or rt.running or run_id in self._held):
            return rt.state.summary()
        return await self.storage.get_run(run_id)  # at rest its record is current, whoever moved it last

    async def list_runs(self, **filters: Any) -> list[Run]:
        return await self.storage.list_runs(**filters)

    async def history(self, run_id: str) -> list[Event]:
        return await self.storage.read_events(run_id)

    async def variables(self, run_id: str) -> dict[str, Any]:
        return dict((await self._runtime(run_id)).state.variables)

    async def tasks(self, run_id: str | None = None, *, descendants: bool = False) -> list[Wait]:
        """Open human tasks (person tasks, approvals, path choices), of ``run_id`` if given; with
        ``descendants``, of its child runs too, at any depth (a subroutine's person task, or the
        interrupt of a graph a call activity runs, is what its parent waits for)."""
        kinds = (WaitKind.HUMAN, WaitKind.CHOICE)
        if run_id is None or not descendants:
            return await self.storage.find_waits(kinds=kinds, run_id=run_id)
        found: list[Wait] = []
        pending = [run_id]
        while pending:  # breadth first: the parent's own tasks, then its children's
            current = pending.pop(0)
            found += await self.storage.find_waits(kinds=kinds, run_id=current)
            pending += [child.id for child in await self.storage.list_runs(parent_run_id=current, status=UNFINISHED, limit=1_000_000)]
        return found

    def subscribe(self, callback: Callable[[Event], None], *, run_id: str | None = None, types: Iterable[str] | None = None) -> Callable[[], None]:
        return self.bus.subscribe(callback, run_id=run_id, types=types)

    async def wait(self, run_id: str, *, finished: bool = False, timeout: float | None = None) -> Run:
        """Wait until the run rests (or, with ``finished``, until it completes, fails or is cancelled)."""
        if timeout is None:
            return await self._wait(run_id, finished)
        with anyio.fail_after(timeout):
            return await self._wait(run_id, finished)

    async def _wait(self, run_id: str, finished: bool) -> Run:
        while True:
            rt = await self._runtime(run_id)
            await rt.rested()
            if not finished or rt.state.status.finished:
                return rt.state.summary()
            done = anyio.Event()
            unsubscribe = self.bus.subscribe(lambda ev, done=done: done.set(), run_id=run_id, types=_ENDS)
            try:
                if not rt.state.status.finished:
                    await done.wait()
            finally:
                unsubscribe()

    # -- interacting --------------------------------------------------------------------------

    async def complete_task(self, task_id: str, output: Any = None) -> Run:
        """Answer a human task (a person task's form, an approval, a path choice)."""
        wait = await self.storage.get_wait(task_id)
        if wait.spec.kind not in (WaitKind.HUMAN, WaitKind.CHOICE):
            raise NotFoundError(f"{task_id!r} is a {wait.spec.kind} wait, not a human task")
        rt = await self._runtime(wait.run_id, own=True)
        output = self._storable(_check_task_answer(wait, output), f"the answer to task {task_id}")
        await self._resolve(rt, task_id, Outcome(output=output))
        await self._kick(rt)
        return await self._settled(rt)

    async def send_message(self, name: str, payload: Any = None, *, correlation: str | None = None, all: bool = False) -> list[Run]:
        """Deliver a message to the run waiting for it (``correlation`` narrows the match). A message
        that matches several runs is refused unless ``all``; one that matches none is dropped (the
        returned list is empty)."""
        waits = await self.storage.find_waits(kinds=(WaitKind.MESSAGE,), name=name, correlation=correlation)
        first: dict[str, Wait] = {}
        for w in waits:
            first.setdefault(w.run_id, w)
        if len(first) > 1 and not all:
            raise RunError(f"message {name!r} matches {len(first)} runs; give a correlation key or all=True")
        if not first:  # no run waits for it: a routine with a matching message start gets a new run
            return await self._start_by(WaitKind.MESSAGE, name, payload, first_only=True)
        return await self._resolve_many(first.values(), payload)

    async def send_signal(self, name: str, payload: Any = None) -> list[Run]:
        """Broadcast a signal to every wait for it, and start a run of every routine with a matching signal start."""
        moved = await self._resolve_many(await self.storage.find_waits(kinds=(WaitKind.SIGNAL,), name=name), payload)
        return moved + await self._start_by(WaitKind.SIGNAL, name, payload)

    async def evaluate_conditions(self, variables: Mapping[str, Any] | None = None, *, routine: str | None = None) -> list[Run]:
        """Start a run of every conditional start (``Navigator.starts``) whose condition holds for
        ``variables``, with them as the run's inputs; ``routine`` narrows it to one routine id. Every
        condition is evaluated, and every run's inputs checked, before any run starts: a condition that
        cannot be evaluated (ExpressionError) or inputs a matching routine refuses (RunError) start
        nothing. A routine with several conditional starts that hold gets one run per start."""
        return await self._start_by_conditions(self._storable(dict(variables or {}), "the variables"), routine)

    async def _resolve_many(self, waits: Iterable[Wait], payload: Any) -> list[Run]:
        payload = self._storable(payload, "the payload")
        touched: dict[str, RunRuntime] = {}
        for w in waits:
            rt = await self._runtime(w.run_id, own=True)
            if w.id in rt.state.waits:
                await self._resolve(rt, w.id, Outcome(output=payload))
                touched[rt.run_id] = rt
        return [await self._settle_kicked(rt) for rt in touched.values()]

    async def set_variables(self, run_id: str, values: Mapping[str, Any], reason: str = "") -> Run:
        values = self._storable(dict(values), "the variables")
        rt = await self._runtime(run_id, own=True)
        async with rt.lock:
            fx = await self._record(rt, VariablesSet(values, reason))
        await self._after(rt, fx)
        return await self._settle_kicked(rt)

    async def advance_clock(self, seconds: float) -> None:
        """Move a fake clock forward and fire the timers that fall due, in order."""
        advance = getattr(self.clock, "advance", None)
        if advance is None:
            raise ConfigError("advance_clock needs an engine opened with a FakeClock")
        advance(seconds)
        await self._fire_due()

    async def pause(self, run_id: str, reason: str = "") -> Run:
        rt = await self._runtime(run_id, own=True)
        if rt.state.status.finished or rt.state.status is RunStatus.PAUSED:
            raise RunError(f"cannot pause a {rt.state.status} run", run_id=run_id)
        async with rt.lock:
            fx = await self._record(rt, RunPaused(reason or "paused"))
        await self._after(rt, fx)
        # Steps in flight finish and are recorded; nothing new starts. Don't wait for them here.
        return rt.state.summary()

    async def resume(self, run_id: str, *, limits: Limits | None = None) -> Run:
        """Continue a paused run (optionally with new limits), or a run loaded after a restart."""
        rt = await self._runtime(run_id, own=True)
        st = rt.state
        if st.status.finished:
            raise RunError(f"cannot resume a {st.status} run", run_id=run_id)
        if st.status is RunStatus.PAUSED:
            async with rt.lock:
                fx = await self._record(rt, RunResumed(limits))
            rt.ready.clear()
            await self._after(rt, fx)
        return await self._settle_kicked(rt)

    async def cancel(self, run_id: str, reason: str = "") -> Run:
        rt = await self._runtime(run_id, own=True)
        if rt.state.status.finished:
            raise RunError(f"cannot cancel a {rt.state.status} run", run_id=run_id)
        async with rt.lock:
            fx = await self._record(rt, RunCancelled(reason or "cancelled"))
        await self._after(rt, fx)
        return await self._settled(rt)

    async def emergency_stop(self, *, run_id: str | None = None, labels: Mapping[str, str] | None = None, reason: str = "emergency stop") -> list[str]:
        """Cancel every unfinished run of a scope: one run (and its children), runs with ``labels``
        (``{"team": …}``, ``{"swarm": …}``), or, with neither, all runs."""
        if run_id is not None:
            targets = [run_id]
        else:
            targets = [r.id for r in await self.storage.list_runs(status=UNFINISHED, labels=labels, limit=1_000_000)]
        stopped = []
        for rid in targets:
            rt = await self._runtime(rid, own=True)
            if not rt.state.status.finished:
                await self.cancel(rid, reason)
                stopped.append(rid)
        return stopped

    async def _settled(self, rt: RunRuntime) -> Run:
        await rt.rested()
        return rt.state.summary()

    async def _settle_kicked(self, rt: RunRuntime) -> Run:
        await self._kick(rt)
        return await self._settled(rt)

    # -- loading runs from storage ------------------------------------------------------------

    async def _runtime(self, run_id: str, *, own: bool = False, wait: float | None = None) -> RunRuntime:
        """The live run, loaded from storage when needed. ``own``: lease it first, waiting up to
        ``wait`` seconds for another engine's lease (everything that records for the run does). A
        cached run this engine did not lease may have moved in another engine since: it is brought
        up to date from storage.

        One run has one runtime in an engine: callers that need the same run while it is being
        loaded (a due timer and a worker's claim of the same run) wait for that load and share it."""
        while True:
            rt = self._runs.get(run_id)
            if not own and rt is not None and not rt.broken and (rt.driving or rt.running or run_id in self._held):
                return rt
            loading = self._loading.get(run_id)
            if loading is None:
                break
            await loading.wait()
        self._loading[run_id] = done = anyio.Event()
        try:
            return await self._bring_up(run_id, own, wait)
        finally:
            del self._loading[run_id]
            done.set()

    async def _bring_up(self, run_id: str, own: bool, wait: float | None) -> RunRuntime:
        rt = self._runs.get(run_id)
        cached = rt is not None and not rt.broken
        if own and not cached and run_id not in self._held:
            # Not here: lease and read it in one call.
            loaded = await self._hold_and_load(run_id, wait=wait)
        else:
            fresh = await self._hold(run_id, wait=wait) if own else False
            if rt is not None and cached:
                if rt.driving or rt.running or (run_id in self._held and not fresh):
                    return rt
                if not await self.storage.read_events(run_id, after=rt.state.seq, limit=1):
                    return rt
            loaded = await self.storage.load_run(run_id)
        run = loaded.run
        state = None
        if loaded.snapshot is not None:
            state = RunState.from_snapshot(self.converter, dict(loaded.snapshot[1]))
        state = replay(run_id, loaded.events, state)
        graph = await self.graph(run.routine.id, run.routine.version)
        rt = RunRuntime(state, graph, self.navigator(run.routine.format))
        if not state.status.finished and state.status is not RunStatus.PAUSED:
            rt.ready.extend(state.ready_tokens())
            state.status = RunStatus.RUNNING if rt.ready else RunStatus.WAITING
        self._runs[run_id] = rt
        self._summary_seq[run_id] = run.last_seq
        self._summary_status[run_id] = run.status
        return rt

    # -- timers -------------------------------------------------------------------------------

    async def _load_timers(self) -> None:
        for w in await self.storage.find_waits(kinds=(WaitKind.TIMER,)):
            heapq.heappush(self._timers, (w.spec.due or 0.0, w.id, w.run_id))
        await self._load_start_timers()

    def _next_due(self) -> float | None:
        """When the earliest timer falls due: a run's timer wait or a routine's timer start."""
        heads = [h[0][0] for h in (self._timers, self._start_timers) if h]
        return min(heads) if heads else None

    async def _fire_due(self) -> None:
        """Fire what is due, earliest first (a run's timer before a timer start due at the same time)."""
        timers, starts = self._timers, self._start_timers
        while True:
            now = self.clock.now()
            if timers and timers[0][0] <= now and not (starts and starts[0][0] < timers[0][0]):
                due, wait_id, run_id = heapq.heappop(timers)
                try:
                    rt = await self._runtime(run_id, own=True, wait=0)
                except NotFoundError:
                    continue
                except RunError as exc:
                    if exc.code != "leased":
                        raise
                    continue  # another engine moves the run; it (or a worker, later) fires the timer
                await self._fire_timer(rt, wait_id, due)
            elif starts and starts[0][0] <= now:
                await self._fire_start_timer(heapq.heappop(starts))
            else:
                return

    async def _fire_timer(self, rt: RunRuntime, wait_id: str, due: float | None) -> None:
        """Resolve a due timer wait and move its run. Another task of this engine (a worker task)
        may have fired it a moment ago, and another engine may have moved the run since it was
        loaded (storage then refuses the commit and the run is reloaded next time): neither is an
        error of the timer service."""
        if wait_id not in rt.state.waits or rt.state.status.finished:
            return
        try:
            await self._resolve(rt, wait_id, Outcome(output={"due": due}))
        except (NotFoundError, DuplicateEventError):
            return
        await self._settle_kicked(rt)

    async def _timer_service(self) -> None:
        while True:
            self._timer_wake = anyio.Event()
            due = self._next_due()
            delay = None if due is None else due - self.clock.now()
            if delay is not None and delay <= 0:
                await self._fire_due()
                continue
            with anyio.move_on_after(delay):
                await self._timer_wake.wait()


def open_storage(host: PluginHost, url: str, converter: cattrs.Converter) -> StorageBackend:
    scheme = url.split(":", 1)[0]
    for backend in host.storage_backends().values():
        if scheme in backend.schemes:
            return backend.from_url(url, converter=converter)
    known = sorted(s for b in host.storage_backends().values() for s in b.schemes)
    hint = "" if "sqlite" in known else "; install vrooli-sqlalchemy for sqlite:// and postgresql://"
    raise ConfigError(f"no storage backend for {_redacted(url)!r} (schemes: {', '.join(known)}){hint}")


def _redacted(url: str) -> str:
    """``url`` with the password of its user part shown as ``***`` (messages never show it)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url.split("://", 1)[0] + "://…"
    if password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{password}@", ":***@", 1)).geturl()


def read_source(source: RoutineLike, format: str | None = None) -> RoutineSource:
    """A routine as a :class:`RoutineSource`: a path is read (UTF-8, else byte for byte as latin-1,
    so a navigator can recover the exact bytes); routine text needs its ``format``."""
    if isinstance(source, RoutineSource):
        return attrs.evolve(source, format=format) if format else source
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and len(source) < 4096 and Path(source).is_file()):
        path = Path(source)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise RoutineError(f"cannot read routine: {exc}", source=str(path)) from exc
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            # Not UTF-8 (an XML file declared ISO-8859-1, say): latin-1 maps every byte to one
            # character, so a navigator can get the exact bytes back with text.encode("latin-1").
            text = raw.decode("latin-1")
        return RoutineSource(text, str(path), format)
    if isinstance(source, str) and format:
        return RoutineSource(source, None, format)
    raise RoutineError(f"no such routine file: {source!r}" if isinstance(source, str) and "\n" not in source else "routine text needs a format")


def _validate_inputs(routine: RoutineDef, inputs: Mapping[str, Any]) -> None:
    schema = routine.inputs
    if not schema:
        return
    from jsonschema.validators import validator_for

    errors = list(validator_for(schema)(schema).iter_errors(dict(inputs)))
    if errors:
        problems = "; ".join(((".".join(map(str, e.path)) + ": ") if e.path else "") + e.message for e in errors)
        raise RunError(f"inputs of routine {routine.id!r} are invalid: {problems}", code="invalid_inputs")


def _check_task_answer(wait: Wait, output: Any) -> Any:
    """Check a person's answer against the task; returns it (a path choice as the option string)."""
    spec = wait.spec
    if spec.kind is WaitKind.CHOICE:
        answer = output.get("choice") if isinstance(output, Mapping) else output
        if answer not in spec.options:
            raise RunError(f"task {wait.id}: {answer!r} is not one of {', '.join(spec.options)}", run_id=wait.run_id, code="invalid_answer")
        return answer
    schema = spec.form.get("schema")
    if schema:
        from jsonschema.validators import validator_for

        errors = list(validator_for(schema)(schema).iter_errors(output))
        if errors:
            raise RunError(f"task {wait.id}: answer does not match its form: " + "; ".join(e.message for e in errors), run_id=wait.run_id, code="invalid_answer")
    return output

