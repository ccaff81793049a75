"""Profile one BPMN workload with cProfile and show where the time per step goes.

    python -m bench.bpmn_profile chain 10000 [--kind script|noop] [--sort tottime|cumulative] [--top 30]
    python -m bench.bpmn_profile fork 1000
    python -m bench.bpmn_profile parse 10000

The models are those of the BPMN cases (``bench.bpmn_workloads``). ``chain`` and ``fork`` profile one
``engine.run`` (after a warm-up run of the 100-task model) and divide by the run's steps; ``parse``
profiles ``engine.parse`` of a chain and divides by its flow nodes. The workload first runs without
the profiler (real time and the cyclic garbage collector's share), then under cProfile. ``--out FILE``
keeps the raw ``pstats`` file; ``--gc-off`` disables the cyclic garbage collector (whose pauses
cProfile charges to whichever function happened to allocate).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import sys
import time
from pathlib import Path

import anyio

from bench import bpmn_workloads as bw
from bench import workloads as w
from bench.profile import report


async def _workload(
    shape: str, n: int, kind: str, profiler: cProfile.Profile | None, gct: w.GcTimer | None = None
) -> tuple[float, int]:
    """Seconds of the measured part and the units it covers (steps, or flow nodes for ``parse``)."""
    async with bw.open_engine() as engine:
        if shape == "parse":
            text = bw.chain_xml(n, kind)
            engine.parse(bw.source(bw.chain_xml(100, kind)))  # warm-up
            gc.collect()
            _measuring(True, profiler, gct)
            t0 = time.perf_counter()
            _, graph, _ = engine.parse(bw.source(text))
            elapsed = time.perf_counter() - t0
            _measuring(False, profiler, gct)
            return elapsed, sum(len(p.nodes) for p in graph.data.defs.processes.values())
        warm, _ = await bw.load(engine, bw.model_xml(shape, 100, kind))
        await engine.run(warm)
        routine, _ = await bw.load(engine, bw.model_xml(shape, n, kind))
        gc.collect()
        _measuring(True, profiler, gct)
        t0 = time.perf_counter()
        run = await engine.run(routine)
        elapsed = time.perf_counter() - t0
        _measuring(False, profiler, gct)
        if str(run.status) != "completed":
            raise SystemExit(f"the run ended {run.status}: {run.error}")
        return elapsed, run.steps


def _measuring(on: bool, profiler: cProfile.Profile | None, gct: w.GcTimer | None) -> None:
    if gct is not None:
        gct.active = on
    if profiler is not None:
        if on:
            profiler.enable()
        else:
            profiler.disable()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bpmn_profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("shape", choices=("chain", "fork", "parse"))
    parser.add_argument("n", type=int)
    parser.add_argument("--kind", choices=("script", "noop"), default="script", help="task kind (default: script)")
    parser.add_argument("--sort", choices=("tottime", "cumulative"), default="tottime")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--out", type=Path, help="write the raw pstats file here")
    parser.add_argument("--gc-off", action="store_true", help="disable the cyclic garbage collector")
    args = parser.parse_args(argv)
    if args.gc_off:
        gc.disable()
    unit = "node" if args.shape == "parse" else "step"

    with w.GcTimer() as gct:  # without the profiler: the real time and the collector's share
        plain, units = anyio.run(_workload, args.shape, args.n, args.kind, None, gct)
    print(
        f"unprofiled: {plain:.3f} s = {plain / units * 1e6:.1f} µs/{unit}; cyclic GC {gct.seconds:.3f} s "
        f"({gct.seconds / plain:.0%}), collections by generation {gct.collections}"
    )
    profiler = cProfile.Profile()
    _, units = anyio.run(_workload, args.shape, args.n, args.kind, profiler)
    stats = pstats.Stats(profiler)
    if args.out:
        stats.dump_stats(str(args.out))
    print(report(stats, units, unit, args.sort, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
