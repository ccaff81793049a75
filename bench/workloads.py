"""Shared pieces of the vrooli cases: generated flows, the trivial tools, opening an engine, and the
small measuring helpers (garbage-collector time, peak RSS, medians).

Flows are generated as JSON in the flow test navigator's format (``vrooli_core.testing.flow``).
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import json
import os
import resource
import statistics
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio

from vrooli_core import Engine, PluginHost, hookimpl, tool
from vrooli_core.model import RoutineDef, RoutineSource
from vrooli_core.testing import FlowNavigator

# -- tools -------------------------------------------------------------------------------------


@tool
def bench_noop() -> dict[str, Any]:
    """A trivial tool: does nothing and returns an empty object."""
    return {}


#: Seconds the ``bench_llm`` tool awaits (a stand-in for a model call's latency).
LATENCY_S = 0.05


@tool
async def bench_llm() -> dict[str, Any]:
    """A stand-in for a model call: awaits ``LATENCY_S`` on the real clock."""
    await anyio.sleep(LATENCY_S)
    return {}


TOOLS = (bench_noop, bench_llm)

# -- flows -------------------------------------------------------------------------------------


def _step(kind: str) -> dict[str, Any]:
    if kind == "tool":
        return {"kind": "tool", "tool": "bench_noop", "in": {}}
    if kind == "noop":
        return {}
    raise ValueError(f"unknown step kind {kind!r} (noop or tool)")


def chain_flow(n: int, kind: str = "noop") -> str:
    """``s0 -> s1 -> ... -> s{n-1}``: n steps in a sequence."""
    steps: dict[str, Any] = {}
    for i in range(n):
        step = _step(kind)
        if i < n - 1:
            step["next"] = f"s{i + 1}"
        steps[f"s{i}"] = step
    return json.dumps({"id": f"chain-{kind}-{n}", "start": "s0", "steps": steps})


def fork_flow(n: int, kind: str = "noop") -> str:
    """``fork -> b0..b{n-1} -> join``: a parallel split into n branches and a join of n arrivals
    (n + 2 steps in all)."""
    steps: dict[str, Any] = {"fork": {"next": [f"b{i}" for i in range(n)]}}
    for i in range(n):
        steps[f"b{i}"] = _step(kind) | {"next": "join"}
    steps["join"] = {"join": n}
    return json.dumps({"id": f"fork-{kind}-{n}", "start": "fork", "steps": steps})


def latency_flow() -> str:
    """``prep -> llm -> post``: the middle step awaits ``LATENCY_S`` on the real clock."""
    steps = {
        "prep": {"next": "llm"},
        "llm": {"kind": "tool", "tool": "bench_llm", "in": {}, "next": "post"},
        "post": {},
    }
    return json.dumps({"id": "latency", "start": "prep", "steps": steps})


def parked_flow() -> str:
    """``ask -> done``: the run parks on a human task at ``ask``."""
    steps = {"ask": {"kind": "human", "title": "Approve", "next": "done"}, "done": {}}
    return json.dumps({"id": "parked", "start": "ask", "steps": steps})


def parked_message_flow() -> str:
    """``ask -> done``: the run parks on a human task at ``ask`` that a ``resume`` message carrying
    the run's ``key`` input (its correlation key) interrupts, moving the run to ``done``."""
    boundary = {"message": "resume", "correlation": "key", "next": "done"}
    steps = {"ask": {"kind": "human", "title": "Approve", "next": "done", "boundary": boundary}, "done": {}}
    return json.dumps({"id": "parked-message", "start": "ask", "steps": steps})


# -- engine ------------------------------------------------------------------------------------


class _FlowPlugin:
    @hookimpl
    def vrooli_register_navigators(self) -> list[type]:
        return [FlowNavigator]


def make_host() -> PluginHost:
    """A plugin host with only the builtins and the flow navigator (no installed plugins)."""
    host = PluginHost.create(load_entrypoints=False)
    host.register(_FlowPlugin(), "bench-flow")
    return host


@contextlib.asynccontextmanager
async def open_engine(**kwargs: Any) -> AsyncIterator[Engine]:
    async with Engine.open("memory://", host=make_host(), tools=TOOLS, **kwargs) as engine:
        yield engine


async def load(engine: Engine, text: str) -> tuple[RoutineDef, float]:
    """Register a flow (parse, validate, store); returns the routine and the seconds it took."""
    t0 = time.perf_counter()
    routine = await engine.load(RoutineSource(text, None, "flow"))
    return routine, time.perf_counter() - t0


# -- measuring ---------------------------------------------------------------------------------


class GcTimer:
    """Adds up the time the cyclic garbage collector runs (via ``gc.callbacks``)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.collections = [0, 0, 0]
        self._t0 = 0.0
        self.active = False

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if not self.active:
            return
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._t0
            self.collections[info["generation"]] += 1

    def __enter__(self) -> GcTimer:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc: Any) -> None:
        gc.callbacks.remove(self._callback)

    def reset(self) -> None:
        self.seconds = 0.0
        self.collections = [0, 0, 0]


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports ru_maxrss in KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def current_rss_mib() -> float | None:
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return round(pages * resource.getpagesize() / 2**20, 1)


def median(values: list[float]) -> float:
    return statistics.median(values)


def rounded(value: float, digits: int = 6) -> float:
    return round(value, digits)


def case_main(cases: dict[str, Any], argv: list[str], unavailable: Callable[[], str | None] | None = None) -> int:
    """The entry point of a case module run as a subprocess: ``argv`` is the case name and its
    parameters as JSON; prints the case's result as one JSON line. ``unavailable``: says why the
    case cannot run here (a plugin missing), or ``None``."""
    name, params = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    if os.environ.get("BENCH_GC") == "off":
        gc.disable()
    reason = unavailable() if unavailable is not None else None
    result: dict[str, Any] = {"available": False, "reason": reason} if reason else cases[name](params)
    result.setdefault("maxrss_mib", peak_rss_mib())
    print(json.dumps(result), flush=True)
    return 0


class Timers:
    """Time inside patched functions (sync or async), by key. Calls that overlap (concurrent task
    runs) add up beyond the wall time."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)
        self.calls: defaultdict[str, int] = defaultdict(int)

    @contextlib.contextmanager
    def patch(self, owner: Any, attr: str, key: str, by_first_arg: bool = False) -> Iterator[None]:
        """Time ``owner.attr`` under ``key`` (``by_first_arg``: under ``key:<first argument>``, e.g.
        a storage call by collection)."""
        original = getattr(owner, attr)
        seconds, calls, clock = self.seconds, self.calls, time.perf_counter

        if inspect.iscoroutinefunction(original):

            async def timed(*args: Any, **kwargs: Any) -> Any:
                t0 = clock()
                try:
                    return await original(*args, **kwargs)
                finally:
                    name = f"{key}:{args[0]}" if by_first_arg and args else key
                    seconds[name] += clock() - t0
                    calls[name] += 1

        else:

            def timed(*args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
                t0 = clock()
                try:
                    return original(*args, **kwargs)
                finally:
                    seconds[key] += clock() - t0
                    calls[key] += 1

        setattr(owner, attr, timed)
        try:
            yield
        finally:
            setattr(owner, attr, original)

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()
