"""The vrooli side of every case. One case per process:

    python -m bench.cases CASE '{"param": value, ...}'

prints one JSON object with what it measured (the driver, ``bench.run``, adds targets and peers).
Times are ``time.perf_counter`` wall seconds; repeated cases report the median and the minimum.
Every repetition of a run-time case opens a fresh engine on a fresh ``memory://`` store, so one
repetition's stored events do not weigh on the next.
"""

from __future__ import annotations

import gc
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

from bench import workloads as w

# -- run-time cases ----------------------------------------------------------------------------


async def timed_runs(
    text: str, *, reps: int, warm: str, check: Callable[[Any, Any], Awaitable[bool]], engines: Any = w
) -> tuple[dict[str, Any], bool, Any]:
    """Run the routine ``text`` ``reps`` times (each in a fresh engine from ``engines.open_engine``,
    loaded with ``engines.load``) after one warm-up run of ``warm``. ``check(engine, run)`` says
    whether a run did what it should; repetitions stop at the first that did not. Returns the
    medians, whether the last run passed its check, and the last run's error."""
    async with engines.open_engine() as engine:  # warm-up: imports, caches, first-call costs
        routine, _ = await engines.load(engine, warm)
        await engine.run(routine)
    runs: list[float] = []
    loads: list[float] = []
    gcs: list[float] = []
    collections = [0, 0, 0]
    events = steps = 0
    status = ""
    ok = False
    error: Any = None
    with w.GcTimer() as gct:
        for _ in range(reps):
            async with engines.open_engine() as engine:
                routine, load_s = await engines.load(engine, text)
                gc.collect()
                gct.reset()
                gct.active = True
                t0 = time.perf_counter()
                run = await engine.run(routine)
                elapsed = time.perf_counter() - t0
                gct.active = False
                status, steps, error = str(run.status), run.steps, run.error
                events = len(await engine.history(run.id))
                ok = await check(engine, run)
                runs.append(elapsed)
                loads.append(load_s)
                gcs.append(gct.seconds)
                collections = [a + b for a, b in zip(collections, gct.collections, strict=True)]
            if status != "completed" or not ok:
                break
    med = w.median(runs)
    result = {
        "status": status,
        "completed": status == "completed" and ok,
        "steps": steps,
        "events_per_run": events,
        "reps": len(runs),
        "run_s": w.rounded(med),
        "run_s_min": w.rounded(min(runs)),
        "steps_per_s": round(steps / med, 1) if steps else None,
        "us_per_step": round(med / steps * 1e6, 3) if steps else None,
        "load_s": w.rounded(w.median(loads)),
        "gc_s": w.rounded(w.median(gcs)),
        "gc_share": round(w.median(gcs) / med, 3) if med else None,
        "gc_collections_by_generation": collections,
    }
    return result, ok, error


async def _timed_runs(text: str, *, expected_steps: int, reps: int, warm: str) -> dict[str, Any]:
    async def check(engine: Any, run: Any) -> bool:
        return bool(run.steps == expected_steps)

    result, _, _ = await timed_runs(text, reps=reps, warm=warm, check=check)
    return result


def case_chain(p: dict[str, Any]) -> dict[str, Any]:
    n, kind = int(p["n"]), p.get("kind", "noop")
    result = anyio.run(
        lambda: _timed_runs(
            w.chain_flow(n, kind),
            expected_steps=n,
            reps=int(p.get("reps", 3)),
            warm=w.chain_flow(100, kind),
        )
    )
    return {"n": n, "kind": kind} | result


def case_fork(p: dict[str, Any]) -> dict[str, Any]:
    n, kind = int(p["n"]), p.get("kind", "noop")
    result = anyio.run(
        lambda: _timed_runs(
            w.fork_flow(n, kind),
            expected_steps=n + 2,
            reps=int(p.get("reps", 3)),
            warm=w.fork_flow(100, kind),
        )
    )
    return {"branches": n, "kind": kind} | result


async def concurrent_runs(
    runs: int, waiters: str, max_concurrency: int | None, open_engine: Callable[..., Any] = w.open_engine
) -> dict[str, Any]:
    """Start ``runs`` runs of the latency flow at once in one engine (from ``open_engine``), then
    await them (one after another, or one waiter task each); the wall time covers both. With
    ``waiters="together"`` each run has a task of its own that starts it and waits for it (as
    ``asyncio.gather`` of LangGraph's ``ainvoke``): the starts do not wait for one another."""
    kwargs = {} if max_concurrency is None else {"max_concurrency": max_concurrency}
    async with open_engine(**kwargs) as engine:
        routine, load_s = await w.load(engine, w.latency_flow())
        await engine.run(routine)  # warm-up
        finished: list[Any] = [None] * runs
        gc.collect()
        with w.GcTimer() as gct:
            gct.active = True
            t0 = time.perf_counter()
            if waiters == "together":
                ids = []
                starts: list[float] = []

                async def start_and_wait(k: int) -> None:
                    run_id = (await engine.start(routine)).id
                    starts.append(time.perf_counter())
                    finished[k] = await engine.wait(run_id, finished=True)

                async with anyio.create_task_group() as tg:
                    for k in range(runs):
                        tg.start_soon(start_and_wait, k)
                started = max(starts) - t0
            else:
                ids = [(await engine.start(routine)).id for _ in range(runs)]
                started = time.perf_counter() - t0
            if waiters == "sequential":
                for k, run_id in enumerate(ids):
                    finished[k] = await engine.wait(run_id, finished=True)
            elif waiters == "concurrent":  # every waiter at once

                async def wait_one(k: int, run_id: str) -> None:
                    finished[k] = await engine.wait(run_id, finished=True)

                async with anyio.create_task_group() as tg:
                    for k, run_id in enumerate(ids):
                        tg.start_soon(wait_one, k, run_id)
            wall = time.perf_counter() - t0
            gct.active = False
    statuses = Counter(str(r.status) for r in finished)
    return {
        "runs": runs,
        "latency_s": w.LATENCY_S,
        "waiters": waiters,
        "max_concurrency_per_run": max_concurrency or "default",
        "statuses": dict(statuses),
        "completed": statuses.get("completed", 0) == runs,
        "wall_s": w.rounded(wall),
        "start_phase_s": w.rounded(started),
        "us_per_start": round(started / runs * 1e6, 1),
        "runs_per_s": round(runs / wall, 1),
        "gc_s": w.rounded(gct.seconds),
        "gc_share": round(gct.seconds / wall, 3),
        "gc_collections_by_generation": gct.collections,
        "load_s": w.rounded(load_s),
    }


def case_concurrent(p: dict[str, Any]) -> dict[str, Any]:
    if "latency_s" in p:
        w.LATENCY_S = float(p["latency_s"])
    result = anyio.run(concurrent_runs, int(p["runs"]), p.get("waiters", "sequential"), p.get("max_concurrency"))
    result["maxrss_mib"] = w.peak_rss_mib()
    return result


async def _parked(runs: int) -> dict[str, Any]:
    async with w.open_engine() as engine:
        routine, _ = await w.load(engine, w.parked_flow())
        await engine.run(routine)  # warm-up (one more parked run)
        gc.collect()
        base_rss = w.current_rss_mib()
        base_peak = w.peak_rss_mib()
        statuses: Counter[str] = Counter()
        with w.GcTimer() as gct:
            gct.active = True
            t0 = time.perf_counter()
            for _ in range(runs):
                run = await engine.run(routine)
                statuses[str(run.status)] += 1
            create_s = time.perf_counter() - t0
            gct.active = False
        after_rss = w.current_rss_mib()
        t1 = time.perf_counter()
        tasks = await engine.tasks()
        list_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        done = await engine.complete_task(tasks[-1].id, {"ok": True})
        complete_s = time.perf_counter() - t2
    per_run_kib = None
    if base_rss is not None and after_rss is not None:
        per_run_kib = round((after_rss - base_rss) * 1024 / runs, 2)
    return {
        "runs": runs,
        "statuses": dict(statuses),
        "parked": statuses.get("waiting", 0) == runs,
        "rss_before_mib": base_rss,
        "peak_rss_before_mib": base_peak,
        "rss_after_mib": after_rss,
        "kib_per_parked_run": per_run_kib,
        "create_s": w.rounded(create_s),
        "us_per_run_created": round(create_s / runs * 1e6, 1),
        "gc_s": w.rounded(gct.seconds),
        "gc_share": round(gct.seconds / create_s, 3),
        "open_tasks_listed": len(tasks),
        "list_tasks_s": w.rounded(list_s),
        "complete_one_task_s": w.rounded(complete_s),
        "completed_after_answer": str(done.status) == "completed",
    }


def case_parked(p: dict[str, Any]) -> dict[str, Any]:
    result = anyio.run(_parked, int(p["runs"]))
    result["maxrss_mib"] = w.peak_rss_mib()
    return result


async def _load(n: int, reps: int) -> dict[str, Any]:
    text = w.chain_flow(n)
    times = []
    for _ in range(reps):
        async with w.open_engine() as engine:
            _, load_s = await w.load(engine, text)
            times.append(load_s)
    med = w.median(times)
    return {"n": n, "bytes": len(text), "reps": reps, "load_s": w.rounded(med), "us_per_step": round(med / n * 1e6, 2)}


def case_load(p: dict[str, Any]) -> dict[str, Any]:
    return anyio.run(_load, int(p["n"]), int(p.get("reps", 1)))


# -- start-up cases ----------------------------------------------------------------------------

_TIMED_IMPORT = (
    "import sys, time, json\n"
    "t0 = time.perf_counter()\n"
    "{stmt}\n"
    "t1 = time.perf_counter()\n"
    "print(json.dumps({{'s': t1 - t0, 'modules': len(sys.modules)}}))\n"
)


def _best_import(stmt: str, reps: int) -> dict[str, Any]:
    code = _TIMED_IMPORT.format(stmt=stmt)
    inner, outer, modules = [], [], 0
    with tempfile.TemporaryDirectory() as cwd:  # away from the source tree
        for _ in range(reps):
            t0 = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, check=True)
            outer.append(time.perf_counter() - t0)
            data = json.loads(out.stdout.strip().splitlines()[-1])
            inner.append(data["s"])
            modules = data["modules"]
    return {"import_s": w.rounded(min(inner)), "process_s": w.rounded(min(outer)), "modules_loaded": modules}


def case_import(p: dict[str, Any]) -> dict[str, Any]:
    reps = int(p.get("reps", 10))
    bare = _best_import("pass", reps)
    main = _best_import("import vrooli_core", reps)
    engine = _best_import("from vrooli_core import Engine", reps)
    return {
        "reps": reps,
        "import_s": main["import_s"],
        "process_s": main["process_s"],
        "python_startup_s": bare["process_s"],
        "modules_loaded": main["modules_loaded"],
        "engine_import_s": engine["import_s"],
        "engine_modules_loaded": engine["modules_loaded"],
    }


_HEAVY = (
    "litellm",
    "lxml",
    "langgraph",
    "langchain_core",
    "airflow",
    "temporalio",
    "SpiffWorkflow",
    "rich",
    "opentelemetry",
)

_HELP_MODULES = (
    "import sys, io, json, contextlib\n"
    "from vrooli_core.cli import main\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n"
    "    try:\n"
    "        main(['--help'])\n"
    "    except SystemExit:\n"
    "        pass\n"
    "heavy = {heavy!r}\n"
    "print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set(heavy))))\n"
)


def case_cli_help(p: dict[str, Any]) -> dict[str, Any]:
    reps = int(p.get("reps", 5))
    exe = Path(sys.executable).with_name("vrooli")
    command = [str(exe)] if exe.exists() else ([found] if (found := shutil.which("vrooli")) else None)
    if command is None:
        return {"available": False, "reason": "no `vrooli` command is installed"}
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = subprocess.run([*command, "--help"], capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if out.returncode != 0 or "Usage" not in out.stdout:
            return {
                "available": False,
                "reason": f"`vrooli --help` exited {out.returncode}: {(out.stderr or out.stdout)[-300:]}",
            }
    heavy: Any = None
    probe = subprocess.run([sys.executable, "-c", _HELP_MODULES.format(heavy=_HEAVY)], capture_output=True, text=True)
    if probe.returncode == 0:
        heavy = json.loads(probe.stdout.strip().splitlines()[-1])
    return {
        "available": True,
        "reps": reps,
        "wall_s": w.rounded(min(times)),
        "wall_s_median": w.rounded(w.median(times)),
        "heavy_modules_imported": heavy,
    }


CASES = {
    "chain": case_chain,
    "fork": case_fork,
    "concurrent": case_concurrent,
    "parked": case_parked,
    "load": case_load,
    "import": case_import,
    "cli-help": case_cli_help,
}


def main(argv: list[str]) -> int:
    return w.case_main(CASES, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
