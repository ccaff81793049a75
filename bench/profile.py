"""Profile one workload with cProfile and show where the time per step goes.

    python -m bench.profile chain 10000 [--kind tool] [--sort tottime|cumulative] [--top 25]
    python -m bench.profile fork 10000
    python -m bench.profile concurrent 10000
    python -m bench.profile parked 20000

Prints the top functions with their calls, own time and cumulative time per step (per run for
``concurrent`` and ``parked``), then the share of the run spent in the cyclic garbage collector
(measured without the profiler, which slows everything else down). ``--out FILE`` keeps the raw
``pstats`` file for a viewer (snakeviz, gprof2dot, ...).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import sys
import time
from pathlib import Path
from typing import Any

import anyio

from bench import workloads as w


async def _prepare(shape: str, n: int, kind: str) -> tuple[str, int]:
    """The flow text and the number of units (steps or runs) the profile is divided by."""
    if shape == "chain":
        return w.chain_flow(n, kind), n
    if shape == "fork":
        return w.fork_flow(n, kind), n + 2
    if shape == "concurrent":
        return w.latency_flow(), n
    if shape == "parked":
        return w.parked_flow(), n
    raise SystemExit(f"unknown workload {shape!r} (chain, fork, concurrent, parked)")


async def _workload(shape: str, n: int, kind: str, profiler: cProfile.Profile | None) -> float:
    text, _ = await _prepare(shape, n, kind)
    async with w.open_engine() as engine:
        warm, _ = await w.load(engine, w.chain_flow(100, kind) if shape in ("chain", "fork") else text)
        await engine.run(warm)
        routine, _ = await w.load(engine, text)
        gc.collect()
        if profiler:
            profiler.enable()
        t0 = time.perf_counter()
        if shape in ("chain", "fork"):
            await engine.run(routine)
        elif shape == "concurrent":
            ids = [(await engine.start(routine)).id for _ in range(n)]
            for run_id in ids:
                await engine.wait(run_id, finished=True)
        else:
            for _ in range(n):
                await engine.run(routine)
        elapsed = time.perf_counter() - t0
        if profiler:
            profiler.disable()
    return elapsed


#: Path parts a profiled function's file is shown from (so rows read ``vrooli_core/engine/mover.py:…``).
_ANCHORS = ("vrooli_core", "vrooli_bpmn", "anyio", "asyncio", "attrs", "cattrs", "opentelemetry", "jsonschema", "asteval", "lxml", "json")


def _where(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    if filename == "~":
        return name
    parts = Path(filename).parts
    for anchor in _ANCHORS:
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) :]) + f":{line}({name})"
    return f"{Path(filename).name}:{line}({name})"


def report(stats: pstats.Stats, units: int, unit: str, sort: str, top: int) -> str:
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    rows = [(func, nc, tt, ct) for func, (_cc, nc, tt, ct, _callers) in raw.items()]
    rows.sort(key=lambda r: r[2 if sort == "tottime" else 3], reverse=True)
    total = stats.total_tt  # type: ignore[attr-defined]
    lines = [
        f"profiled: {total:.3f} s for {units:,} {unit}s = {total / units * 1e6:.1f} µs/{unit} (under the profiler)",
        f"{'calls/' + unit:>11} {'own µs/' + unit:>12} {'cum µs/' + unit:>12}  function (sorted by {sort})",
    ]
    for func, nc, tt, ct in rows[:top]:
        lines.append(f"{nc / units:11.2f} {tt / units * 1e6:12.2f} {ct / units * 1e6:12.2f}  {_where(func)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("shape", choices=("chain", "fork", "concurrent", "parked"))
    parser.add_argument("n", type=int)
    parser.add_argument("--kind", choices=("noop", "tool"), default="noop", help="step kind of chain/fork steps")
    parser.add_argument("--sort", choices=("tottime", "cumulative"), default="tottime")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", type=Path, help="write the raw pstats file here")
    args = parser.parse_args(argv)
    unit = "run" if args.shape in ("concurrent", "parked") else "step"
    units = anyio.run(_prepare, args.shape, args.n, args.kind)[1]

    with w.GcTimer() as gct:  # without the profiler: the real time and the collector's share
        gct.active = True
        plain = anyio.run(_workload, args.shape, args.n, args.kind, None)
        gct.active = False
    print(
        f"unprofiled: {plain:.3f} s = {plain / units * 1e6:.1f} µs/{unit}; cyclic GC {gct.seconds:.3f} s ({gct.seconds / plain:.0%}), collections by generation {gct.collections}"
    )

    profiler = cProfile.Profile()
    anyio.run(_workload, args.shape, args.n, args.kind, profiler)
    stats = pstats.Stats(profiler)
    if args.out:
        stats.dump_stats(str(args.out))
    print(report(stats, units, unit, args.sort, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
