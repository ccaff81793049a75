"""Start triggers (``Navigator.starts``): messages, signals and timers that start new runs of a routine.

Each routine's triggers live in one storage document (collection ``vrooli.starts``, keyed by routine
id), owned by the version loaded last, as a deployment owns them in Camunda::

    {"version": "2", "starts": [wait specs], "schedule": "<id>",
     "timers": {"<start key>": {"due": 1700000000.0, "fired": 1}}}

``timers`` is the schedule of the timer starts: when each fires next (``None``: never again), how
often it has fired, and the ``problem`` of the last firing if it started no run or ended the schedule
(a run the routine refused, a next firing the navigator could not compute). ``schedule`` identifies one version's schedule; loading another version (or other
triggers) replaces it, and reloading the same one keeps it. A firing derives its run id from
(schedule, start, firing number) and records itself after the run exists, so a crash between the two
finds the run already started instead of starting another.
"""

from __future__ import annotations

import contextvars
import heapq
import uuid
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import anyio

from vrooli_core.errors import DuplicateEventError, NotFoundError, RoutineError, RunError
from vrooli_core.model import Graph, Run, Wait, WaitKind, WaitSpec

if TYPE_CHECKING:
    from vrooli_core.engine.engine import Engine
    from vrooli_core.engine.navigator import Navigator

#: Storage collection of routines' start triggers (see the module docstring).
STARTS = "vrooli.starts"
_START_DEPTH: contextvars.ContextVar[int] = contextvars.ContextVar("vrooli_start_depth", default=0)
_MAX_START_DEPTH = 32
_TIMER_RUN_IDS = uuid.UUID("0b7f3c1e-5d2a-4e8b-9a61-3f2d8c4b7e15")
_KINDS = (WaitKind.MESSAGE, WaitKind.SIGNAL, WaitKind.TIMER, WaitKind.CONDITION)

#: A scheduled timer start: (due, routine id, schedule id, start key, firings so far).
StartTimer = tuple[float, str, str, str, int]


def timer_run_id(schedule: str, key: str, firing: int) -> str:
    """The id of the run that firing number ``firing`` (1, 2, …) of a timer start creates."""
    return uuid.uuid5(_TIMER_RUN_IDS, f"{schedule}:{key}:{firing}").hex


class StartTriggers:
    """The engine's side of ``Navigator.starts`` (mixed into :class:`~vrooli_core.engine.Engine`)."""

    _start_timers: list[StartTimer]
    _starts_lock: anyio.Lock

    # -- indexing at load -----------------------------------------------------------------------

    async def _starts_doc(self: Engine, nav: Navigator, graph: Graph) -> dict[str, Any] | None:
        """The start document for ``graph`` as loaded now, or ``None`` when the stored one already
        belongs to this version with these triggers (its schedule carries on). Raises RoutineError
        for a trigger that cannot work, before anything is stored."""
        routine = graph.routine
        starts = list(nav.starts(graph))
        for spec in starts:
            _check_start(spec, routine.id)
        specs = self.converter.unstructure(starts)
        try:
            old = await self.storage.get_doc(STARTS, routine.id)
        except NotFoundError:
            old = None
        if (
            old is not None
            and old.get("version") == routine.version
            and old.get("starts") == specs
            and "schedule" in old
        ):
            return None
        timers: dict[str, dict[str, Any]] = {}
        now = self.clock.now()
        for spec in starts:
            if spec.kind is not WaitKind.TIMER:
                continue
            if spec.key in timers:
                raise RoutineError(
                    f"two timer starts of routine {routine.id!r} share the key {spec.key!r}", element=spec.key
                )
            _check_startable(graph, spec)
            due = nav.start_due(graph, spec, now)
            timers[spec.key] = {"due": None if due is None else float(due), "fired": 0}
        return {"version": routine.version, "starts": specs, "schedule": uuid.uuid4().hex, "timers": timers}

    async def _put_starts(self: Engine, routine_id: str, doc: Mapping[str, Any]) -> None:
        await self.storage.put_doc(STARTS, routine_id, doc)
        self._schedule_timers(routine_id, doc)

    def _schedule_timers(self: Engine, routine_id: str, doc: Mapping[str, Any]) -> None:
        for key, timer in (doc.get("timers") or {}).items():
            entry = (timer.get("due"), routine_id, doc["schedule"], key, timer["fired"])
            if entry[0] is not None and entry not in self._start_timers:  # a worker re-reads the schedules
                heapq.heappush(self._start_timers, entry)
        if self._timer_wake is not None:
            self._timer_wake.set()

    async def _load_start_timers(self: Engine) -> None:
        for routine_id, doc in await self.storage.list_docs(STARTS):
            if "schedule" in doc:
                self._schedule_timers(routine_id, doc)

    # -- timer starts -------------------------------------------------------------------------

    async def _fire_start_timer(self: Engine, entry: StartTimer) -> Run | None:
        """Fire one scheduled timer start: start its run (unless a previous attempt did), record the
        firing and schedule the next one. A stale entry (the schedule was replaced, or this firing
        is already recorded) does nothing."""
        due, routine_id, schedule, key, fired = entry
        doc = await self._current_start(routine_id, schedule, key, fired)
        if doc is None:
            return None
        spec = next(s for s in doc["starts"] if s.get("kind") == WaitKind.TIMER.value and s.get("key") == key)
        graph = await self.graph(routine_id, doc["version"])
        nav = self.navigator(graph.routine.format)
        run_id = timer_run_id(schedule, key, fired + 1)
        rt = None
        problem = None
        try:
            await self.storage.get_run(run_id)
        except NotFoundError:
            try:
                rt = await self._create(graph.routine, {}, run_id=run_id, start=key)
            except DuplicateEventError:
                pass  # another engine on this storage started it a moment ago
            except RunError as exc:  # e.g. inputs the routine requires: this firing starts nothing
                if exc.code != "leased":  # leased: another engine is starting it right now
                    problem = str(exc)
        try:
            nxt = nav.start_due(
                graph, self.converter.structure(spec, WaitSpec), self.clock.now(), previous=due, fired=fired + 1
            )
            if nxt is not None and nxt <= due:
                raise RoutineError(
                    f"timer start {key!r} of routine {routine_id!r}: next due {nxt} is not after {due}", element=key
                )
        except RoutineError as exc:  # the schedule ends here, and says why
            nxt, problem = None, exc.message
        async with self._starts_lock:
            doc = await self._current_start(routine_id, schedule, key, fired)
            if doc is not None:
                timer: dict[str, Any] = {"due": None if nxt is None else float(nxt), "fired": fired + 1}
                if problem is not None:
                    timer["problem"] = problem
                await self.storage.put_doc(STARTS, routine_id, {**doc, "timers": {**doc["timers"], key: timer}})
                if nxt is not None:
                    heapq.heappush(self._start_timers, (float(nxt), routine_id, schedule, key, fired + 1))
        return None if rt is None else await self._settle_kicked(rt)

    async def _current_start(
        self: Engine, routine_id: str, schedule: str, key: str, fired: int
    ) -> Mapping[str, Any] | None:
        """The start document if firing ``fired + 1`` of ``key`` under ``schedule`` is still to be recorded."""
        try:
            doc = await self.storage.get_doc(STARTS, routine_id)
        except NotFoundError:
            return None
        timer = (doc.get("timers") or {}).get(key)
        if doc.get("schedule") != schedule or timer is None or timer.get("fired") != fired:
            return None
        return doc

    # -- message and signal starts ------------------------------------------------------------

    async def _start_by(
        self: Engine, kind: WaitKind, name: str, payload: Any, *, first_only: bool = False, entry: Wait | None = None
    ) -> list[Run]:
        """Runs started by a message or signal start trigger (each run moved until it rests).

        A run started this way can throw what starts another (or itself): chains are bounded, so a
        routine whose end event throws its own start signal fails with a clear error instead of
        recursing without end."""
        depth = _START_DEPTH.get()
        if depth >= _MAX_START_DEPTH:
            raise RunError(
                f"{kind} {name!r} started runs {depth} levels deep: a start event keeps being triggered by "
                "the runs it starts (a routine that throws its own start message or signal?)",
                code="start_loop",
            )
        token = _START_DEPTH.set(depth + 1)
        try:
            return await self._start_runs(kind, name, payload, first_only=first_only, entry=entry)
        finally:
            _START_DEPTH.reset(token)

    async def _start_runs(
        self: Engine, kind: WaitKind, name: str, payload: Any, *, first_only: bool, entry: Wait | None = None
    ) -> list[Run]:
        """Start the routines with a matching start. ``entry``: delivering an OUTBOX entry, whose
        runs have ids of their own making (a run it started before is not started again)."""
        started = []
        for routine_id, doc in await self.storage.list_docs(STARTS):
            for spec in doc.get("starts", ()):
                if spec.get("kind") != kind.value or spec.get("name") != name:
                    continue
                inputs = self._storable(payload if isinstance(payload, Mapping) else {}, "the payload")
                stored = await self.storage.get_routine(routine_id, doc["version"])
                try:
                    rt = await self._create(
                        stored.routine, inputs, start=spec.get("key") or None, run_id=self._start_key(entry, routine_id)
                    )
                except DuplicateEventError:
                    if entry is None:
                        raise
                    break  # started by an earlier delivery of this entry
                started.append(await self._settle_kicked(rt))
                if first_only:
                    return started
                break
        return started

    # -- conditional starts -------------------------------------------------------------------

    async def _start_by_conditions(self: Engine, variables: dict[str, Any], routine: str | None) -> list[Run]:
        from vrooli_core.engine.engine import _validate_inputs

        chosen: list[tuple[Graph, str]] = []
        for routine_id, doc in await self.storage.list_docs(STARTS):
            if routine is not None and routine_id != routine:
                continue
            specs = [s for s in doc.get("starts", ()) if s.get("kind") == WaitKind.CONDITION.value]
            if not specs:
                continue
            graph = await self.graph(routine_id, doc["version"])
            nav = self.navigator(graph.routine.format)
            for raw in specs:
                spec = self.converter.structure(raw, WaitSpec)
                if nav.start_condition_met(graph, spec, MappingProxyType(variables)):
                    try:
                        _validate_inputs(graph.routine, variables)
                    except RunError as exc:
                        raise RunError(
                            f"conditional start {spec.key!r} of routine {routine_id!r} holds, but {exc}; no run was started",
                            code="invalid_inputs",
                        ) from None
                    chosen.append((graph, spec.key))
        started = []
        for graph, key in chosen:
            rt = await self._create(graph.routine, variables, start=key)
            started.append(await self._settle_kicked(rt))
        return started


def _check_start(spec: Any, routine_id: str) -> None:
    if not isinstance(spec, WaitSpec) or spec.kind not in _KINDS or not spec.key:
        raise RoutineError(
            f"routine {routine_id!r}: Navigator.starts gave {spec!r}; a start trigger is a message, signal, "
            "timer or condition WaitSpec with a key naming the start",
            element=getattr(spec, "key", None) or None,
        )


def _check_startable(graph: Graph, spec: WaitSpec) -> None:
    """A timer start runs with no inputs: refuse a routine whose inputs schema needs some."""
    from vrooli_core.engine.engine import _validate_inputs

    try:
        _validate_inputs(graph.routine, {})
    except RunError as exc:
        raise RoutineError(
            f"timer start {spec.key!r} starts runs without inputs, but {exc}", element=spec.key
        ) from None
