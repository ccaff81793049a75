"""A live run inside one engine: its state plus what only exists while it moves."""

from __future__ import annotations

from collections import deque
from typing import Any

import anyio

from vrooli_core.engine.navigator import Navigator, RunView
from vrooli_core.engine.state import RunState
from vrooli_core.model import Graph, WaitKind


class RunRuntime:
    __slots__ = (
        "state", "graph", "nav", "view", "ready", "running", "workers", "lock", "wake",
        "driving", "rested", "conditions", "broken",
    )

    def __init__(self, state: RunState, graph: Graph, nav: Navigator) -> None:
        self.state = state
        self.graph = graph
        self.nav = nav
        self.view = RunView(state.run_id, state.routine.id, state.tokens, state.variables, state.nav, state.waits)
        self.ready: deque[str] = deque()
        #: token id -> cancel scope of its step in flight
        self.running: dict[str, anyio.CancelScope] = {}
        self.workers = 0
        # fast_acquire: an uncontended acquire does not yield to the event loop (one per event).
        self.lock = anyio.Lock(fast_acquire=True)
        self.wake: anyio.Event | None = None
        self.driving = False
        self.rested = anyio.Event()
        self.rested.set()
        self.conditions: set[str] = {w.id for w in state.waits.values() if w.spec.kind is WaitKind.CONDITION}
        self.broken = False

    @property
    def run_id(self) -> str:
        return self.state.run_id

    def poke(self) -> None:
        if self.wake is not None:
            self.wake.set()

    def __repr__(self) -> str:
        s: Any = self.state
        return f"<RunRuntime {s.run_id} {s.status} tokens={len(s.tokens)} ready={len(self.ready)}>"
