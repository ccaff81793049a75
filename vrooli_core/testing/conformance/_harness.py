"""Helpers the conformance suites share: engines on throwaway stores, event capture, a one-step
navigator for running a single step through a real engine."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import anyio

from vrooli_core.clock import FakeClock
from vrooli_core.engine import Engine, Navigator, RunView
from vrooli_core.model import (
    Decision,
    Event,
    Graph,
    Outcome,
    OutcomeStatus,
    RoutineDef,
    RoutineSource,
    StepDef,
    Token,
    goto,
)
from vrooli_core.model.events import StepCompleted, StepStarted, SubstepRecorded
from vrooli_core.plugins import PluginHost
from vrooli_core.storage.memory import MemoryStorage
from vrooli_core.testing.hosts import CapabilityPlugin, make_host


@contextmanager
def memory_store() -> Iterator[str]:
    """A unique ``memory://NAME?verify=1`` URL, forgotten afterwards."""
    name = f"conformance-{uuid.uuid4().hex}"
    try:
        yield f"memory://{name}?verify=1"
    finally:
        MemoryStorage.forget(name)


def host_with(flow: bool = False, **capabilities: Iterable[Any]) -> PluginHost:
    """A fresh host with the given capabilities registered as one plugin named ``conformance``."""
    host = make_host(flow=flow)
    if capabilities:
        host.register(CapabilityPlugin(**capabilities), "conformance")
    return host


@asynccontextmanager
async def open_engine(store: Any, host: PluginHost, **kwargs: Any) -> AsyncIterator[Engine]:
    """``Engine.open`` with a fake clock (timers fire only when a test advances it)."""
    kwargs.setdefault("clock", FakeClock())
    async with Engine.open(store, host=host, **kwargs) as engine:
        yield engine


class Recorder:
    """Collects the events an engine publishes (the live objects, before any serialisation)."""

    def __init__(self, engine: Engine) -> None:
        self.events: list[Event] = []
        self._unsubscribe = engine.subscribe(self._add)

    def _add(self, event: Event) -> None:
        if event.seq > 0:  # transient events (streamed chunks) have no place in the log
            self.events.append(event)

    def of(self, run_id: str) -> list[Event]:
        return [e for e in self.events if e.run_id == run_id]

    def close(self) -> None:
        self._unsubscribe()


def executed_steps(events: Iterable[Event]) -> list[str]:
    """The steps a run executed, in the order they finished: completed or failed steps (not
    suspensions), and foreign sub-steps of delegating navigators as ``step/substep``."""
    done = []
    for ev in events:
        p = ev.payload
        if isinstance(p, StepCompleted) and p.outcome.status is not OutcomeStatus.SUSPENDED:
            done.append(p.step)
        elif isinstance(p, SubstepRecorded):
            done.append(f"{p.step}/{p.substep}")
    return done


def overlapping_steps(events: Iterable[Event]) -> list[tuple[str, str]]:
    """Pairs of steps that ran at the same time (one started before the other finished)."""
    running: dict[str, str] = {}
    overlaps: list[tuple[str, str]] = []
    for ev in events:
        p = ev.payload
        if isinstance(p, StepStarted):
            overlaps.extend((other, p.step) for other in running.values())
            running[p.token] = p.step
        elif isinstance(p, StepCompleted):
            running.pop(p.token, None)
    return overlaps


def json_native(value: Any) -> bool:
    """Whether ``value`` survives ``json.dumps``/``json.loads`` unchanged (no tuples, sets, objects)."""
    try:
        return bool(json.loads(json.dumps(value)) == value)
    except (TypeError, ValueError):
        return False


def gapless(events: list[Event]) -> bool:
    return [e.seq for e in events] == list(range(1, len(events) + 1))


async def settle(engine: Engine, run_id: str, timeout: float) -> Any:
    """Wait until a run finishes (completed, failed or cancelled)."""
    with anyio.fail_after(timeout):
        return await engine.wait(run_id, finished=True)


def single_step_navigator(step: StepDef, name: str = "conformance-step") -> type[Navigator]:
    """A navigator class whose every routine is one step, ``step``: a run executes it once and
    completes (or fails with the step's error). Its sources are any text, with ``format=name``."""

    class SingleStepNavigator(Navigator):
        def load(self, source: RoutineSource) -> Graph:
            routine = RoutineDef(id=name, format=name, content_hash=source.content_hash)
            return Graph(routine, {step.id: step})

        def start(self, graph: Graph, view: RunView) -> Decision:
            return goto(step.id)

        def next(self, graph: Graph, view: RunView, token: Token, outcome: Outcome) -> Decision:
            return Decision(error=outcome.error) if outcome.status is OutcomeStatus.FAILED else Decision()

    SingleStepNavigator.name = name
    return SingleStepNavigator


def single_step_source(name: str = "conformance-step", text: str = "one step") -> RoutineSource:
    return RoutineSource(text, None, name)
