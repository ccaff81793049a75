"""A live run inside one engine: its state plus what only exists while it moves."""

from __future__ import annotations

from collections import deque
from types import TracebackType
from typing import Any

import anyio

from vrooli_core.engine.navigator import Navigator, RunView
from vrooli_core.engine.state import RunState
from vrooli_core.model import Event, Graph, WaitKind


class RunLock:
    """Serialises a run's transitions. Everything runs on one event loop, so the uncontended case is
    a flag flip with no checkpoint; contenders queue on events (FIFO)."""

    __slots__ = ("_locked", "_waiters")

    def __init__(self) -> None:
        self._locked = False
        self._waiters: deque[anyio.Event] = deque()

    async def __aenter__(self) -> None:
        if self._locked:
            event = anyio.Event()
            self._waiters.append(event)
            try:
                await event.wait()
            except BaseException:
                if event in self._waiters:
                    self._waiters.remove(event)
                elif event.is_set():  # handed over as we were cancelled: pass it on
                    self._release()
                raise
            return  # ownership was handed over by the releaser
        self._locked = True

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self._release()

    def _release(self) -> None:
        if self._waiters:
            self._waiters.popleft().set()  # stays locked: the waiter owns it now
        else:
            self._locked = False


class RunRuntime:
    __slots__ = (
        "_rested",
        "broken",
        "conditions",
        "driving",
        "graph",
        "lock",
        "nav",
        "pending",
        "ready",
        "running",
        "state",
        "view",
        "wake",
        "workers",
    )

    def __init__(self, state: RunState, graph: Graph, nav: Navigator) -> None:
        self.state = state
        self.graph = graph
        self.nav = nav
        self.view = RunView(state.run_id, state.routine.id, state.tokens, state.variables, state.nav, state.waits)
        self.view.start = state.start
        self.ready: deque[str] = deque()
        #: token id -> cancel scope of its step in flight
        self.running: dict[str, anyio.CancelScope] = {}
        self.workers = 0
        self.lock = RunLock()
        self.wake: anyio.Event | None = None
        self.driving = False
        self._rested: anyio.Event | None = None
        self.conditions: set[str] = {w.id for w in state.waits.values() if w.spec.kind is WaitKind.CONDITION}
        self.broken = False
        #: Events applied in memory and not yet stored (side-effect-free step completions, written
        #: with the run's next commit: see ``Engine.batch_events``).
        self.pending: list[Event] = []

    @property
    def run_id(self) -> str:
        return self.state.run_id

    def poke(self) -> None:
        if self.wake is not None:
            self.wake.set()

    def start_driving(self) -> None:
        self.driving = True
        self._rested = None

    def stop_driving(self) -> None:
        self.driving = False
        if self._rested is not None:
            self._rested.set()
            self._rested = None

    async def rested(self) -> None:
        """Return once no driver moves the run."""
        if self.driving:
            if self._rested is None:
                self._rested = anyio.Event()
            await self._rested.wait()

    def __repr__(self) -> str:
        s: Any = self.state
        return f"<RunRuntime {s.run_id} {s.status} tokens={len(s.tokens)} ready={len(self.ready)}>"
