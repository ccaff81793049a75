"""The vrooli-langgraph cases: LangGraph graphs run as vrooli routines (the ``langgraph`` navigator,
which delegates each run to LangGraph with a checkpointer over vrooli's storage) against the same
compiled graphs run by LangGraph alone, in the same process. One case per process:

    python -m bench.langgraph_cases CASE '{"param": value, ...}'

prints one JSON object, like ``bench.cases`` (the driver, ``bench.run``, adds the target and whether
it is met).

- ``graph``: one shape, ``chain`` (``n`` trivial synchronous nodes in sequence, each adding 1 to an
  ``int`` counter) or ``fanout`` (a start node, ``n`` parallel branches from it by ``n`` edges, each
  adding 1 to the counter, joined by one node that waits for all of them; the counter is
  ``Annotated[int, operator.add]``). Sides, each measured ``reps`` times (``durable_reps`` for the
  SQLite ones), every repetition on a fresh engine, saver or file and timed on its second run (the
  first warms it up: the navigator compiles the graph on an engine's first run), the sides taking
  turns in an order that rotates from one repetition to the next:

  ``vrooli_memory``     ``engine.run`` on ``memory://`` (the navigator's ``StorageSaver`` over
                        vrooli's memory storage)
  ``vrooli_sqlite``     ``engine.run`` on a new SQLite file (vrooli-sqlalchemy; the checkpoints in
                        that file, next to the run's history)
  ``lg_none``           ``compiled.ainvoke`` without a checkpointer
  ``lg_memory``         ``ainvoke`` with ``InMemorySaver``, a thread id per run (LangGraph's default
                        durability, ``async``)
  ``lg_memory_sync``    the same with ``durability="sync"``, as the navigator runs graphs
  ``lg_sqlite``         ``ainvoke`` with ``AsyncSqliteSaver`` on its own new file (default durability)
  ``lg_sqlite_sync``    the same with ``durability="sync"``

  The graph is the module attribute ``chain_<n>`` / ``fanout_<n>`` of this module (built on first
  access, then cached): a compiled graph carrying ``recursion_limit`` (``with_config``), which the
  navigator passes on to LangGraph. Both sides use the same builder and node functions. Loading and
  compiling are outside the timed runs (``load_s``, ``warmup_s``). Reported: median wall seconds
  per side (and all of them), ratios vrooli / LangGraph for each pairing (the target's:
  ``vrooli_memory / lg_memory``), and vrooli's cost per node beyond LangGraph's.
- ``profile``: one side of one shape under cProfile after a warm-up run: the functions with the most
  own time (file:function, share of the profiled run), their callers, and the cumulative time of a
  few of the navigator's and saver's functions; for a vrooli side also one unprofiled run with the
  saver's, the engine's substep and the storage's document calls timed (``split``).
- ``ablation``: LangGraph alone with the navigator's pieces added one at a time (its saver over
  memory storage, its node wrapper, its usage callback), no engine: what each adds per node.

Not in ``bench.run``'s plan (``profile`` and ``ablation``): run them by hand, e.g.
``python -m bench.langgraph_cases profile '{"shape": "fanout", "n": 100, "side": "vrooli_memory"}'``.
"""

from __future__ import annotations

import contextlib
import cProfile
import functools
import gc
import importlib
import importlib.util
import operator
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any, TypedDict

import anyio

from bench import workloads as w

TARGET = "overhead <= 1.5x in-memory"
LIMIT = 1.5
#: The module whose attributes the routines reference (also when this file runs as ``__main__``).
MODULE = "bench.langgraph_cases"

# -- the graphs --------------------------------------------------------------------------------


class Chain(TypedDict):
    n: int


class Fanout(TypedDict):
    n: Annotated[int, operator.add]


def add_one(state: Any) -> dict[str, int]:
    return {"n": state["n"] + 1}


def one(state: Any) -> dict[str, int]:
    """A fan-out node: adds 1 through the counter's ``operator.add`` reducer."""
    return {"n": 1}


def chain_builder(n: int) -> Any:
    """``START -> s0 -> s1 -> ... -> s{n-1} -> END``; the counter ends at n (from 0)."""
    from langgraph.graph import END, START, StateGraph

    g = StateGraph(Chain)
    for i in range(n):
        g.add_node(f"s{i}", add_one)
    g.add_edge(START, "s0")
    for i in range(n - 1):
        g.add_edge(f"s{i}", f"s{i + 1}")
    g.add_edge(f"s{n - 1}", END)
    return g


def fanout_builder(n: int) -> Any:
    """``START -> fan -> b0..b{n-1} -> join -> END``: n edges out of ``fan``, one join edge waiting
    for all n branches; the counter ends at n + 2 (from 0)."""
    from langgraph.graph import END, START, StateGraph

    g = StateGraph(Fanout)
    g.add_node("fan", one)
    branches = [f"b{i}" for i in range(n)]
    for b in branches:
        g.add_node(b, one)
        g.add_edge("fan", b)
    g.add_node("join", one)
    g.add_edge(START, "fan")
    g.add_edge(branches, "join")
    g.add_edge("join", END)
    return g


def recursion_limit(shape: str, n: int) -> int:
    """Enough LangGraph steps for the shape (a chain takes n, the fan-out 3), with room to spare."""
    return 2 * n if shape == "chain" else 25


@functools.cache
def graph(shape: str, n: int) -> Any:
    """The compiled graph (no checkpointer) carrying its recursion limit, built once per process."""
    builder = {"chain": chain_builder, "fanout": fanout_builder}[shape](n)
    return builder.compile().with_config(recursion_limit=recursion_limit(shape, n))


def __getattr__(name: str) -> Any:
    """``chain_<n>`` and ``fanout_<n>``: what the routines' references (``bench.langgraph_cases:chain_1000``)
    name."""
    shape, _, size = name.partition("_")
    if shape in ("chain", "fanout") and size.isdigit():
        return graph(shape, int(size))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def expected(shape: str, n: int) -> int:
    return n if shape == "chain" else n + 2


def nodes(shape: str, n: int) -> int:
    return n if shape == "chain" else n + 2


# -- availability ------------------------------------------------------------------------------


def unavailable() -> str | None:
    for module, install in (
        ("langgraph", "pip install langgraph"),
        ("vrooli_langgraph", "pip install -e plugins/langgraph"),
    ):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not importable ({install})"
    return None


def _missing_sqlite() -> str | None:
    from bench import stores

    if (why := stores.missing("sqlite")) is not None:
        return why
    if importlib.util.find_spec("langgraph.checkpoint.sqlite") is None or importlib.util.find_spec("aiosqlite") is None:
        return "langgraph-checkpoint-sqlite / aiosqlite are not installed (pip install langgraph-checkpoint-sqlite aiosqlite)"
    return None


# -- the sides ---------------------------------------------------------------------------------

Runner = Callable[[int], Any]  # one run (its index) -> the final counter


@contextlib.asynccontextmanager
async def vrooli_side(store: str, shape: str, n: int, folder: Path, out: dict[str, Any]) -> AsyncIterator[Runner]:
    """An engine on ``memory://`` or a new SQLite file with the langgraph navigator, the graph loaded
    (``out["load_s"]``); yields one run of it."""
    import vrooli_langgraph.plugin  # type: ignore[import-untyped,unused-ignore]

    from vrooli_core import Engine
    from vrooli_core.model import RunStatus

    if store == "memory":
        host = w.make_host()
        host.register(vrooli_langgraph.plugin, "langgraph")
        opened: Any = Engine.open("memory://", host=host)
    else:
        from bench import stores

        host = stores.make_host()
        host.register(vrooli_langgraph.plugin, "langgraph")
        opened = stores.open_at(f"sqlite:///{folder / 'vrooli.db'}", host=host)
    async with opened as engine:
        t0 = time.perf_counter()
        routine = await engine.load(f"{MODULE}:{shape}_{n}", format="langgraph")
        out.setdefault(f"vrooli_{store}_load_s", w.rounded(time.perf_counter() - t0))

        async def run(i: int) -> Any:
            done = await engine.run(routine, {"n": 0})
            if done.status is not RunStatus.COMPLETED:
                error = done.error
                raise RuntimeError(
                    f"vrooli run {done.status.value}: {error.code if error else '?'}: {error.message if error else ''}"
                )
            return (done.outputs or {}).get("n")

        run.engine = engine  # type: ignore[attr-defined]  # for the profile case's timers
        yield run


@contextlib.asynccontextmanager
async def lg_side(saver: str, durability: str | None, shape: str, n: int, folder: Path) -> AsyncIterator[Runner]:
    """The same compiled graph (builder) run by LangGraph alone: without a checkpointer, with
    ``InMemorySaver`` or with ``AsyncSqliteSaver`` on its own new file."""
    compiled = importlib.import_module(MODULE).graph(shape, n)
    config: dict[str, Any] = {"recursion_limit": recursion_limit(shape, n)}
    extra: dict[str, Any] = {} if durability is None else {"durability": durability}
    async with contextlib.AsyncExitStack() as stack:
        if saver == "none":
            app = compiled.builder.compile()
        elif saver == "memory":
            from langgraph.checkpoint.memory import InMemorySaver

            app = compiled.builder.compile(checkpointer=InMemorySaver())
        else:
            from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

            name = f"lg-{durability or 'default'}.db"
            cp = await stack.enter_async_context(AsyncSqliteSaver.from_conn_string(str(folder / name)))
            app = compiled.builder.compile(checkpointer=cp)
        tag = f"{saver}-{durability}"

        async def run(i: int) -> Any:
            cfg = config if saver == "none" else config | {"configurable": {"thread_id": f"{tag}-{i}"}}
            return (await app.ainvoke({"n": 0}, cfg, **extra))["n"]

        yield run


SIDES: dict[str, tuple[str, ...]] = {
    "vrooli_memory": ("vrooli", "memory"),
    "vrooli_sqlite": ("vrooli", "sqlite"),
    "lg_none": ("lg", "none", ""),
    "lg_memory": ("lg", "memory", ""),
    "lg_memory_sync": ("lg", "memory", "sync"),
    "lg_sqlite": ("lg", "sqlite", ""),
    "lg_sqlite_sync": ("lg", "sqlite", "sync"),
}

#: vrooli side / LangGraph side: the ratios reported (the first is the target's).
PAIRS = (
    ("vrooli_memory", "lg_memory"),
    ("vrooli_memory", "lg_memory_sync"),
    ("vrooli_memory", "lg_none"),
    ("vrooli_sqlite", "lg_sqlite"),
    ("vrooli_sqlite", "lg_sqlite_sync"),
)


def _open(side: str, shape: str, n: int, folder: Path, out: dict[str, Any]) -> Any:
    kind, *rest = SIDES[side]
    if kind == "vrooli":
        return vrooli_side(rest[0], shape, n, folder, out)
    return lg_side(rest[0], rest[1] or None, shape, n, folder)


# -- the case ----------------------------------------------------------------------------------


async def _graph_case(p: dict[str, Any]) -> dict[str, Any]:
    shape, n = str(p.get("shape", "chain")), int(p.get("n", 1_000))
    reps, durable_reps = int(p.get("reps", 5)), int(p.get("durable_reps", p.get("reps", 5)))
    sides = [s for s in p.get("sides", list(SIDES)) if s in SIDES]
    out: dict[str, Any] = {
        "shape": shape,
        "n": n,
        "nodes": nodes(shape, n),
        "recursion_limit": recursion_limit(shape, n),
        "recursion_limit_via": "compiled graph .with_config(recursion_limit=…), passed on by the navigator; "
        "LangGraph alone: ainvoke config",
        "target": TARGET,
    }
    skipped: dict[str, str] = {}
    if any(s.endswith("sqlite") or s.endswith("sqlite_sync") for s in sides):
        why = _missing_sqlite()
        if why is not None:
            skipped = {s: why for s in sides if "sqlite" in s}
            sides = [s for s in sides if "sqlite" not in s]
    import langgraph.graph  # noqa: F401  (imported before anything is timed)

    t0 = time.perf_counter()
    graph(shape, n)
    out["build_compile_s"] = w.rounded(time.perf_counter() - t0)
    times: dict[str, list[float]] = {s: [] for s in sides}
    warmups: dict[str, list[float]] = {s: [] for s in sides}
    finals: dict[str, set[Any]] = {s: set() for s in sides}
    failed: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="vrooli-bench-lg-") as tmp:
        for rep in range(max(reps, durable_reps)):
            live = [s for s in sides if s not in failed and rep < (durable_reps if "sqlite" in s else reps)]
            k = rep % len(live) if live else 0
            for side in live[k:] + live[:k]:  # rotate who goes first
                # Every repetition on a fresh engine / saver / file, after a warm-up run in it (the
                # navigator compiles the graph on the first run of each engine).
                folder = Path(tmp) / f"{side}-{rep}"
                folder.mkdir()
                try:
                    async with _open(side, shape, n, folder, out) as run:
                        t = time.perf_counter()
                        finals[side].add(await run(-1))
                        warmups[side].append(time.perf_counter() - t)
                        gc.collect()
                        t = time.perf_counter()
                        finals[side].add(await run(rep))
                        times[side].append(time.perf_counter() - t)
                except Exception as exc:  # a side that fails is reported, the others still run
                    failed[side] = f"{type(exc).__name__}: {str(exc)[:300]}"
                gc.collect()
    out["warmup_s"] = {s: w.rounded(statistics.median(v)) for s, v in warmups.items() if v}
    medians = {s: statistics.median(v) for s, v in times.items() if v}
    want = expected(shape, n)
    wrong = {s: sorted(map(str, f)) for s, f in finals.items() if s not in failed and f != {want}}
    out["completed"] = not failed and not wrong
    if failed:
        out["failed"] = failed
    if wrong:
        out["wrong_result"] = {"expected": want, "got": wrong}
    if skipped:
        out["skipped"] = skipped
    out["run_s"] = {s: w.rounded(v) for s, v in medians.items()}
    out["run_s_all"] = {s: [w.rounded(x) for x in v] for s, v in times.items() if v}
    ratios: dict[str, float] = {}
    per_node: dict[str, float] = {}
    for mine, theirs in PAIRS:
        if mine in medians and theirs in medians:
            ratios[f"{mine}/{theirs}"] = round(medians[mine] / medians[theirs], 3)
            per_node[f"{mine}-{theirs}"] = round((medians[mine] - medians[theirs]) / nodes(shape, n) * 1e6, 1)
    out["ratio"] = ratios
    out["overhead_us_per_node"] = per_node
    headline_ratio = ratios.get("vrooli_memory/lg_memory")
    out["overhead_ratio"] = headline_ratio
    out["met"] = None if headline_ratio is None else bool(out["completed"]) and headline_ratio <= LIMIT
    parts = []
    if headline_ratio is not None:
        parts.append(f"memory {medians['vrooli_memory']:.3f} s vs {medians['lg_memory']:.3f} s: {headline_ratio:.2f}x")
    if "vrooli_sqlite/lg_sqlite" in ratios:
        parts.append(
            f"sqlite {medians['vrooli_sqlite']:.2f} s vs {medians['lg_sqlite']:.2f} s: {ratios['vrooli_sqlite/lg_sqlite']:.2f}x"
        )
    out["headline"] = "; ".join(parts) or ("failed: " + "; ".join(failed.values()) if failed else "")
    out["reps"], out["durable_reps"] = reps, durable_reps
    return out


def case_graph(p: dict[str, Any]) -> dict[str, Any]:
    return anyio.run(_graph_case, p)


# -- profiling ---------------------------------------------------------------------------------

_WATCH = (
    ("navigator.py", "execute"),
    ("navigator.py", "node"),
    ("navigator.py", "_plain"),
    ("saver.py", "aput"),
    ("saver.py", "aput_writes"),
    ("saver.py", "aget_tuple"),
    ("saver.py", "_ids"),
    ("saver.py", "_writes"),
)


_ROOT = Path(__file__).resolve().parent.parent


def _where(func: tuple[str, int, str]) -> str:
    """``file:function`` of a profiled function: relative to site-packages or to the repository,
    ``stdlib/…`` for the standard library, the bare name for builtins."""
    file, _line, name = func
    if file == "~":
        return name
    path = Path(file)
    parts = path.parts
    if "site-packages" in parts:
        return "/".join(parts[parts.index("site-packages") + 1 :]) + ":" + name
    with contextlib.suppress(ValueError):
        return f"{path.resolve().relative_to(_ROOT)}:{name}"
    for i, part in enumerate(parts):
        if part.startswith("python3"):
            return "stdlib/" + "/".join(parts[i + 1 :]) + ":" + name
    return f"{file}:{name}"


def _package(where: str) -> str:
    if "/" not in where:
        return "(builtins)"
    head, rest = where.split("/", 1)
    if head in ("plugins", "stdlib"):
        return head + "/" + rest.split("/", 1)[0].split(":")[0]
    return head


async def _profile_case(p: dict[str, Any]) -> dict[str, Any]:
    shape, n, side = str(p.get("shape", "chain")), int(p.get("n", 1_000)), str(p.get("side", "vrooli_memory"))
    top = int(p.get("top", 25))
    out: dict[str, Any] = {"shape": shape, "n": n, "side": side}
    with tempfile.TemporaryDirectory(prefix="vrooli-bench-lg-") as tmp:
        async with _open(side, shape, n, Path(tmp), out) as run:
            await run(-1)
            gc.collect()
            t = time.perf_counter()
            await run(0)
            out["run_s_unprofiled"] = w.rounded(time.perf_counter() - t)
            split = await _split(run, side)
            if split:
                out["split"] = split
            gc.collect()
            prof = cProfile.Profile()
            t = time.perf_counter()
            prof.enable()
            await run(1)
            prof.disable()
            out["run_s_profiled"] = w.rounded(time.perf_counter() - t)
    stats = pstats.Stats(prof)
    total = sum(v[2] for v in stats.stats.values())  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])  # type: ignore[attr-defined]
    out["total_own_s"] = w.rounded(total)
    out["own_time"] = [
        {"where": _where(f), "calls": v[1], "own_s": w.rounded(v[2]), "share": round(v[2] / total, 3)}
        for f, v in rows[:top]
    ]
    # Who calls the functions with the most own time (the time spent in them, by caller).
    out["callers"] = {
        _where(f): [
            {"caller": _where(c), "calls": cv[1], "s": w.rounded(cv[3])}
            for c, cv in sorted(v[4].items(), key=lambda kv: -kv[1][3])[:4]
        ]
        for f, v in rows[:4]
    }
    by_package: dict[str, float] = {}
    for f, v in stats.stats.items():  # type: ignore[attr-defined]
        package = _package(_where(f))
        by_package[package] = by_package.get(package, 0.0) + v[2]
    out["own_time_by_package"] = {
        k: round(v / total, 3) for k, v in sorted(by_package.items(), key=lambda kv: -kv[1])[:12]
    }
    watched = {}
    for f, v in stats.stats.items():  # type: ignore[attr-defined]
        for file, name in _WATCH:
            if f[0].endswith(file) and f[2] == name and "vrooli_langgraph" in f[0]:
                watched[f"{file}:{name}"] = {
                    "calls": v[1],
                    "cumulative_s": w.rounded(v[3]),
                    "share": round(v[3] / total, 3),
                }
    out["cumulative"] = watched
    return out


async def _split(run: Any, side: str) -> dict[str, Any] | None:
    """One more run of a vrooli side (not profiled) with the plugin's and the storage's calls timed:
    wall seconds inside each (calls of parallel branches overlap, so they may add up beyond the
    run's wall time)."""
    engine = getattr(run, "engine", None)
    if engine is None:
        return None
    from vrooli_langgraph import navigator  # type: ignore[import-untyped,unused-ignore]
    from vrooli_langgraph.saver import StorageSaver  # type: ignore[import-untyped,unused-ignore]

    from vrooli_core import Engine

    timers = w.Timers()
    gc.collect()
    with contextlib.ExitStack() as stack:
        for owner, attr, key in (
            (StorageSaver, "aput", "saver.aput"),
            (StorageSaver, "aput_writes", "saver.aput_writes"),
            (StorageSaver, "aget_tuple", "saver.aget_tuple"),
            (Engine, "substep", "engine.substep"),
            (Engine, "substep_done", "engine.substep_done"),
            (navigator, "_plain", "navigator._plain"),
        ):
            stack.enter_context(timers.patch(owner, attr, key))
        stack.enter_context(timers.patch(engine.storage, "get_doc", "storage.get_doc", by_first_arg=True))
        stack.enter_context(timers.patch(engine.storage, "put_doc", "storage.put_doc", by_first_arg=True))
        t = time.perf_counter()
        await run(2)
        wall = time.perf_counter() - t
    return {
        "run_s": w.rounded(wall),
        "seconds": {k: w.rounded(v) for k, v in sorted(timers.seconds.items(), key=lambda kv: -kv[1])},
        "share_of_run": {k: round(v / wall, 3) for k, v in sorted(timers.seconds.items(), key=lambda kv: -kv[1])},
        "calls": dict(sorted(timers.calls.items())),
    }


def case_profile(p: dict[str, Any]) -> dict[str, Any]:
    return anyio.run(_profile_case, p)


# -- ablation ----------------------------------------------------------------------------------


class _NoServices:
    """What the navigator's node wrapper calls on the engine, doing nothing."""

    async def substep(self, ctx: Any, name: str, inputs: Any) -> None:
        return None

    async def substep_done(self, ctx: Any, name: str, outcome: Any) -> None:
        return None


async def _ablation_case(p: dict[str, Any]) -> dict[str, Any]:
    """LangGraph alone, with the navigator's pieces added one at a time (no engine): its checkpoint
    saver (``StorageSaver`` over a ``MemoryStorage``, as on ``memory://``) instead of
    ``InMemorySaver``, its node wrapper (``_instrumented``: each node a ``RunnableLambda`` that
    reports before and after, here to services that do nothing), its usage callback; all with
    ``astream(stream_mode="updates", durability="sync")`` as the navigator runs graphs. What is left
    between the last variant and ``vrooli_memory`` is the engine's own work (run, events, substeps)."""
    import types

    import cattrs
    from langgraph.checkpoint.memory import InMemorySaver
    from vrooli_langgraph import navigator as nav  # type: ignore[import-untyped,unused-ignore]
    from vrooli_langgraph.saver import StorageSaver  # type: ignore[import-untyped,unused-ignore]

    from vrooli_core.storage.memory import MemoryStorage

    shape, n, reps = str(p.get("shape", "chain")), int(p.get("n", 1_000)), int(p.get("reps", 3))
    builder = graph(shape, n).builder
    ctx = types.SimpleNamespace(services=_NoServices(), idempotency_key="bench")

    def storage_saver() -> Any:
        return StorageSaver(MemoryStorage(converter=cattrs.Converter()))

    variants: list[tuple[str, Callable[[], Any], bool]] = [
        ("InMemorySaver", lambda: builder.compile(checkpointer=InMemorySaver()), False),
        ("StorageSaver", lambda: builder.compile(checkpointer=storage_saver()), False),
        (
            "InMemorySaver + wrapped nodes",
            lambda: nav._instrumented(builder).compile(checkpointer=InMemorySaver()),
            False,
        ),
        ("InMemorySaver + usage callback", lambda: builder.compile(checkpointer=InMemorySaver()), True),
        (
            "StorageSaver + wrapped nodes + usage callback",
            lambda: nav._instrumented(builder).compile(checkpointer=storage_saver()),
            True,
        ),
    ]
    out: dict[str, Any] = {
        "shape": shape,
        "n": n,
        "reps": reps,
        "mode": 'astream(stream_mode="updates", durability="sync")',
    }

    async def once(app: Any, callback: bool, thread: str) -> float:
        cfg: dict[str, Any] = {"recursion_limit": recursion_limit(shape, n), "configurable": {"thread_id": thread}}
        if callback:
            cfg["callbacks"] = [nav._usage_handler(ctx)]
        token = nav._CURRENT.set(nav._Running(ctx))
        gc.collect()
        t = time.perf_counter()
        try:
            async for _ in app.astream({"n": 0}, cfg, stream_mode="updates", durability="sync"):
                pass
        finally:
            nav._CURRENT.reset(token)
        return time.perf_counter() - t

    # As in the graph case: every repetition on a freshly compiled graph (a new saver), timed on its
    # second run, the variants taking turns in a rotating order.
    times: dict[str, list[float]] = {name: [] for name, _, _ in variants}
    for rep in range(reps):
        k = rep % len(variants)
        for name, make, callback in variants[k:] + variants[:k]:
            app = make()
            await once(app, callback, "warm-up")
            times[name].append(await once(app, callback, f"t{rep}"))
            del app
    medians = {name: statistics.median(v) for name, v in times.items()}
    base = medians["InMemorySaver"]
    out["run_s"] = {k: w.rounded(v) for k, v in medians.items()}
    out["run_s_all"] = {k: [w.rounded(x) for x in v] for k, v in times.items()}
    out["added_s"] = {k: w.rounded(v - base) for k, v in medians.items() if k != "InMemorySaver"}
    out["added_us_per_node"] = {
        k: round((v - base) / nodes(shape, n) * 1e6, 1) for k, v in medians.items() if k != "InMemorySaver"
    }
    return out


def case_ablation(p: dict[str, Any]) -> dict[str, Any]:
    return anyio.run(_ablation_case, p)


CASES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "graph": case_graph,
    "profile": case_profile,
    "ablation": case_ablation,
}


def main(argv: list[str]) -> int:
    return w.case_main(CASES, argv, unavailable)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
