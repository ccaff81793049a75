"""LangGraph with its SQLite checkpointer (langgraph-checkpoint-sqlite), beside the durable-storage
cases. Run through ``bench.peers`` as the peer ``langgraph-sqlite``:

    python -m bench.peers langgraph-sqlite durable-chain '{"n": 1000}'
    python -m bench.peers langgraph-sqlite durable-concurrent '{"runs": 10000, "latency_s": 0.05}'

- ``durable-chain``: the chain graph of ``bench.peers`` (N nodes, each adds 1 to a counter) compiled
  with ``SqliteSaver`` on a new file, ``invoke`` on one thread: ``run_s`` as for the plain chain.
  The file is then measured as ``bench.storage_cases`` measures vrooli's (page_count x page_size
  after ``wal_checkpoint(TRUNCATE)``, and again after ``VACUUM``, less the empty database): the
  ``durable-bytes`` case compares against these figures.
- ``durable-concurrent``: the 3-node graph whose middle node awaits ``asyncio.sleep(latency)``,
  compiled with ``AsyncSqliteSaver`` on a new file; one warm-up run, then N ``ainvoke`` calls (one
  thread each) under ``asyncio.gather``: wall time.

Both savers run with their defaults (WAL, SQLite's default ``synchronous=FULL``, one connection),
and LangGraph with its default durability (checkpoints written while the next step runs).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.peers import Count, _lg_chain, _lg_step


def _size(path: Path, vacuum: bool = False) -> int:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if vacuum:
            conn.execute("VACUUM")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        return int(conn.execute("PRAGMA page_count").fetchone()[0] * page_size)
    finally:
        conn.close()


def _chain_once(n: int, folder: str, measure: bool) -> dict[str, Any]:
    from langgraph.checkpoint.sqlite import SqliteSaver

    path = Path(folder) / f"checkpoints-{n}-{time.perf_counter_ns()}.db"
    conn = sqlite3.connect(path, check_same_thread=False)
    try:
        saver = SqliteSaver(conn)
        saver.setup()
        base = _size(path, vacuum=True) if measure else 0
        app = _lg_chain(n).compile(checkpointer=saver)
        config = {"configurable": {"thread_id": "bench"}, "recursion_limit": n + 10}
        t0 = time.perf_counter()
        out = app.invoke({"count": 0}, config)
        elapsed = time.perf_counter() - t0
        synchronous = conn.execute("PRAGMA synchronous").fetchone()[0]
        rows = conn.execute("SELECT count(*), sum(length(checkpoint)), sum(length(metadata)) FROM checkpoints")
        checkpoints, checkpoint_bytes, metadata_bytes = rows.fetchone()
        writes, write_bytes = conn.execute("SELECT count(*), sum(length(value)) FROM writes").fetchone()
    finally:
        conn.close()
    result: dict[str, Any] = {"run_s": elapsed, "count": out["count"], "sqlite_synchronous": synchronous}
    if measure:
        grown = _size(path)
        packed = _size(path, vacuum=True)
        variables = len(json.dumps(out, separators=(",", ":")))
        result |= {
            "bytes_per_step": round((grown - base - variables) / n, 1),
            "bytes_per_step_vacuumed": round((packed - base - variables) / n, 1),
            "file_growth_bytes": grown - base,
            "vacuumed_growth_bytes": packed - base,
            "variables_bytes": variables,
            "rows": {
                "checkpoints": checkpoints,
                "checkpoint_blob_bytes": checkpoint_bytes,
                "metadata_bytes": metadata_bytes,
                "writes": writes,
                "write_blob_bytes": write_bytes,
            },
        }
    return result


def durable_chain(p: dict[str, Any]) -> dict[str, Any]:
    n, reps = int(p["n"]), int(p.get("reps", 1))
    import langgraph.graph  # noqa: F401  (imported before anything is timed)

    with tempfile.TemporaryDirectory(prefix="lg-bench-") as folder:
        if reps > 1:
            _chain_once(min(n, 100), folder, measure=False)  # warm-up
        # Every repetition on a new file; the last one is measured for bytes.
        runs = [_chain_once(n, folder, measure=i == reps - 1) for i in range(reps)]
    if any(r["count"] != n for r in runs):
        return {"n": n, "error": f"counted {[r['count'] for r in runs]} steps, expected {n}"}
    times = [r["run_s"] for r in runs]
    med = statistics.median(times)
    last = runs[-1]
    del last["run_s"], last["count"]
    return {
        "n": n,
        "steps": n,
        "reps": reps,
        "run_s": round(med, 6),
        "run_s_min": round(min(times), 6),
        "steps_per_s": round(n / med, 1),
        "us_per_step": round(med / n * 1e6, 3),
        "checkpointer": "SqliteSaver (file, one connection)",
    } | last


def durable_concurrent(p: dict[str, Any]) -> dict[str, Any]:
    runs, latency = int(p["runs"]), float(p.get("latency_s", 0.05))
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
    from langgraph.graph import END, START, StateGraph

    async def llm(state: Any) -> dict[str, int]:
        await asyncio.sleep(latency)
        return {"count": 1}

    graph = StateGraph(Count)
    graph.add_node("prep", _lg_step)
    graph.add_node("llm", llm)
    graph.add_node("post", _lg_step)
    graph.add_edge(START, "prep")
    graph.add_edge("prep", "llm")
    graph.add_edge("llm", "post")
    graph.add_edge("post", END)

    async def main(path: str) -> tuple[float, list[Any], Any]:
        async with AsyncSqliteSaver.from_conn_string(path) as saver:
            app = graph.compile(checkpointer=saver)
            await app.ainvoke({"count": 0}, {"configurable": {"thread_id": "warm-up"}})
            t0 = time.perf_counter()
            outs = await asyncio.gather(
                *(app.ainvoke({"count": 0}, {"configurable": {"thread_id": str(i)}}) for i in range(runs))
            )
            wall = time.perf_counter() - t0
            async with saver.conn.execute("PRAGMA synchronous") as cur:
                synchronous = (await cur.fetchone())[0]
        return wall, outs, synchronous

    with tempfile.TemporaryDirectory(prefix="lg-bench-") as folder:
        wall, outs, synchronous = asyncio.run(main(os.path.join(folder, "checkpoints.db")))
    return {
        "runs": runs,
        "latency_s": latency,
        "completed": all(o["count"] == 3 for o in outs),
        "wall_s": round(wall, 6),
        "runs_per_s": round(runs / wall, 1),
        "checkpointer": "AsyncSqliteSaver (file, one aiosqlite connection)",
        "sqlite_synchronous": synchronous,
    }


CASES = {"durable-chain": durable_chain, "durable-concurrent": durable_concurrent}


def durable_case(case: str, p: dict[str, Any]) -> dict[str, Any]:
    return CASES[case](p)
