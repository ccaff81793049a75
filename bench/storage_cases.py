"""The vrooli side of the durable-storage cases (vrooli-sqlalchemy). One case per process:

    python -m bench.storage_cases CASE '{"backend": "sqlite", "param": value, ...}'

prints one JSON object, like ``bench.cases``. ``backend`` is ``sqlite`` (a file in a temporary
folder, the store's defaults: WAL, ``synchronous=FULL``) or ``postgresql`` (a schema of its own on
the server of ``bench.stores``). Without vrooli-sqlalchemy, or without a PostgreSQL server for the
``postgresql`` cases, a case prints ``{"available": false, "reason": ...}``.

- ``durable-chain``: one run of an N-step no-op chain with its whole event log stored, each
  repetition on a new store (``bench.cases.timed_runs``); ``batch_events`` is the engine's.
- ``durable-concurrent``: N runs of the latency flow started at once, then awaited
  (``bench.cases.concurrent_runs``) on one new store.
- ``durable-bytes``: how much a SQLite file grows for one N-step chain run, and where the bytes are.
- ``durable-parked``: N runs parked on a human task that a correlated message interrupts; the
  database's size, then finding one run by its correlation key and resuming it
  (``Engine.send_message``), in an engine opened afresh on the store.
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import sys
import time
from collections import Counter
from typing import Any

import anyio

from bench import stores
from bench import workloads as w
from bench.cases import concurrent_runs, timed_runs


def _unavailable(backend: str) -> dict[str, Any] | None:
    reason = stores.missing(backend)
    return None if reason is None else {"available": False, "backend": backend, "reason": reason}


def _ms(seconds: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(seconds) * 1e3, 3),
        "min_ms": round(min(seconds) * 1e3, 3),
        "max_ms": round(max(seconds) * 1e3, 3),
    }


# -- durable chain -----------------------------------------------------------------------------


def case_chain(p: dict[str, Any]) -> dict[str, Any]:
    backend, n, batch = p["backend"], int(p["n"]), int(p.get("batch_events", 256))
    if (off := _unavailable(backend)) is not None:
        return off
    engines = stores.DurableEngines(backend, batch_events=batch)

    async def check(engine: Any, run: Any) -> bool:
        return bool(run.steps == n)

    async def main() -> dict[str, Any]:
        result, _, _ = await timed_runs(
            w.chain_flow(n), reps=int(p.get("reps", 3)), warm=w.chain_flow(100), check=check, engines=engines
        )
        return result

    result = anyio.run(main)
    commits = engines.last_commits
    return {
        "backend": backend,
        "n": n,
        "kind": "noop",
        "batch_events": batch,
        "commits_per_run": commits,
        "events_per_commit": round(result["events_per_run"] / commits, 1) if commits else None,
    } | result


# -- concurrent durable runs -------------------------------------------------------------------


def case_concurrent(p: dict[str, Any]) -> dict[str, Any]:
    backend, runs = p["backend"], int(p["runs"])
    if (off := _unavailable(backend)) is not None:
        return off
    w.LATENCY_S = float(p.get("latency_s", w.LATENCY_S))
    engines = stores.DurableEngines(backend)
    result = anyio.run(concurrent_runs, runs, p.get("waiters", "together"), None, engines.open_engine)
    # One warm-up run besides the measured ones.
    return {"backend": backend, "commits_per_run": round(engines.commits / (runs + 1), 2)} | result


# -- bytes per step ----------------------------------------------------------------------------

_ROWS = {
    "events": "SELECT count(*) FROM vrooli_events",
    "event_data_bytes": "SELECT sum(length(data)) FROM vrooli_events",
    "run_record_bytes": "SELECT sum(length(record)) FROM vrooli_runs",
    "snapshots": "SELECT count(*) FROM vrooli_snapshots",
    "snapshot_bytes": "SELECT coalesce(sum(length(state)), 0) FROM vrooli_snapshots",
    "waits": "SELECT count(*) FROM vrooli_waits",
}


async def _bytes(n: int) -> dict[str, Any]:
    host = stores.make_host()
    with stores.store_url("sqlite") as url:
        path = stores.sqlite_path(url)
        # The routine is stored first and is not part of the run's bytes (one copy per version).
        async with stores.open_at(url, host) as engine:
            routine, _ = await w.load(engine, w.chain_flow(n))
        stores.sqlite_size(path)
        base = stores.sqlite_size(path, vacuum=True)
        async with stores.open_at(url, host) as engine:
            run = await engine.run(routine)
            variables = await engine.variables(run.id)
        grown = stores.sqlite_size(path)
        packed = stores.sqlite_size(path, vacuum=True)
        rows = stores.sqlite_rows(path, _ROWS)
        by_type = _by_type(path)
        sample = _sample(path, min(10, n - 1))
        synchronous = stores.sqlite_query(path, "PRAGMA synchronous")[0][0]
    var_bytes = len(json.dumps(variables, separators=(",", ":")))
    steps = run.steps
    file_growth = grown["bytes"] - base["bytes"]
    packed_growth = packed["bytes"] - base["bytes"]
    return {
        "backend": "sqlite",
        "n": n,
        "status": str(run.status),
        "completed": str(run.status) == "completed" and steps == n,
        "steps": steps,
        "bytes_per_step": round((file_growth - var_bytes) / steps, 1),
        "bytes_per_step_vacuumed": round((packed_growth - var_bytes) / steps, 1),
        "file_growth_bytes": file_growth,
        "vacuumed_growth_bytes": packed_growth,
        "free_pages_after_run": grown["free_pages"],
        "variables_bytes": var_bytes,
        "page_size": grown["page_size"],
        "growth_by_btree": stores.growth(base, grown),
        "growth_by_btree_vacuumed": stores.growth(base, packed),
        "payload_growth_by_btree": stores.growth(base, packed, "payload_by_btree"),
        "rows": rows,
        "event_data_bytes_by_type": by_type,
        "event_row_sample": sample,
        "sqlite_synchronous": synchronous,
    }


def _by_type(path: Any) -> dict[str, list[int]]:
    q = "SELECT type, count(*), sum(length(data)) FROM vrooli_events GROUP BY type ORDER BY 3 DESC"
    return {kind: [count, size] for kind, count, size in stores.sqlite_query(path, q)}


def _sample(path: Any, seq: int) -> dict[str, Any]:
    """One stored step event as its columns hold it."""
    q = "SELECT run_id, seq, at, type, data FROM vrooli_events WHERE seq = ? LIMIT 1"
    run_id, seq, at, kind, data = stores.sqlite_query(path, q, (seq,))[0]
    return {"run_id": run_id, "seq": seq, "at": at, "type": kind, "data": data}


def case_bytes(p: dict[str, Any]) -> dict[str, Any]:
    if (off := _unavailable("sqlite")) is not None:
        return off
    return anyio.run(_bytes, int(p["n"]))


# -- parked runs, found by correlation key -----------------------------------------------------


async def _resume(engine: Any, keys: list[str]) -> tuple[list[float], int]:
    """Send ``resume`` to each key's run; the seconds each took and how many runs completed."""
    times, completed = [], 0
    for key in keys:
        t0 = time.perf_counter()
        moved = await engine.send_message("resume", {"ok": True}, correlation=key)
        times.append(time.perf_counter() - t0)
        completed += len(moved) == 1 and str(moved[0].status) == "completed"
    return times, completed


async def _find(engine: Any, keys: list[str]) -> list[float]:
    from vrooli_core.model import WaitKind

    times = []
    for key in keys:
        t0 = time.perf_counter()
        found = await engine.storage.find_waits(kinds=(WaitKind.MESSAGE,), name="resume", correlation=key)
        times.append(time.perf_counter() - t0)
        assert len(found) == 1, (key, found)
    return times


async def _parked(backend: str, runs: int, lookups: int) -> dict[str, Any]:
    host = stores.make_host()
    keys = random.Random(5).sample(range(runs), 3 * lookups)
    warm_keys, cold_keys, find_keys = ([f"order-{k}" for k in keys[i * lookups : (i + 1) * lookups]] for i in range(3))
    with stores.store_url(backend) as url:
        async with stores.open_at(url, host) as engine:
            routine, _ = await w.load(engine, w.parked_message_flow())
            await engine.run(routine, {"key": "warm-up"})
            gc.collect()
            statuses: Counter[str] = Counter()
            t0 = time.perf_counter()
            for i in range(runs):
                run = await engine.run(routine, {"key": f"order-{i}"})
                statuses[str(run.status)] += 1
            create_s = time.perf_counter() - t0
            # In the engine that parked them (their runs are still in its cache).
            warm, warm_done = await _resume(engine, warm_keys)
        size = _database_size(backend, url)
        async with stores.open_at(url, host) as engine:  # a new engine: nothing cached, as another process
            find = await _find(engine, find_keys)
            cold, cold_done = await _resume(engine, cold_keys)
            t1 = time.perf_counter()
            tasks = await engine.tasks()
            list_s = time.perf_counter() - t1
    parked = statuses.get("waiting", 0) == runs
    return {
        "backend": backend,
        "runs": runs,
        "statuses": dict(statuses),
        "parked": parked,
        "create_s": w.rounded(create_s),
        "ms_per_run_created": round(create_s / runs * 1e3, 3),
        **size,
        "bytes_per_parked_run": round(size["database_bytes"] / runs, 1),
        "lookups": lookups,
        "resume_ms": _ms(cold)["median_ms"],
        "resume": _ms(cold),
        "resumed_completed": cold_done == lookups and warm_done == lookups,
        "resume_cached_engine": _ms(warm),
        "find_waits": _ms(find),
        "open_tasks_listed": len(tasks),
        "list_tasks_s": w.rounded(list_s),
    }


def _database_size(backend: str, url: str) -> dict[str, Any]:
    """The store's size with every run parked (the warm-up run and the few already resumed
    included): SQLite pages after folding in the log; PostgreSQL ``pg_total_relation_size`` of
    every table of the schema (heap, indexes, TOAST)."""
    if backend == "sqlite":
        path = stores.sqlite_path(url)
        size = stores.sqlite_size(path)
        plan = stores.sqlite_plan(path, _FIND)
        return {"database_bytes": size["bytes"], "by_btree": size["by_btree"], "find_query_plan": plan}
    import psycopg
    from psycopg import sql

    schema = url.rsplit("schema=", 1)[1]
    with psycopg.connect(stores.POSTGRESQL, autocommit=True) as conn:
        # Statistics, as autovacuum would gather them, so the planner knows the tables are large.
        for table in ("vrooli_waits", "vrooli_runs", "vrooli_events"):
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(schema, table)))
        rows = conn.execute(_PG_SIZES, (schema,)).fetchall()
    by_table = {name: int(size) for name, size in rows}
    return {"database_bytes": sum(by_table.values()), "by_table": by_table}


# The query ``find_waits(kinds=(MESSAGE,), name=..., correlation=...)`` runs.
_FIND = (
    "SELECT wait FROM vrooli_waits WHERE kind IN ('message') AND name = 'resume' AND correlation = 'order-1' "
    "ORDER BY position"
)
_PG_SIZES = (
    "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace "
    "WHERE s.nspname = %s AND c.relkind = 'r' ORDER BY 2 DESC"
)


def case_parked(p: dict[str, Any]) -> dict[str, Any]:
    backend = p["backend"]
    if (off := _unavailable(backend)) is not None:
        return off
    return anyio.run(_parked, backend, int(p["runs"]), int(p.get("lookups", 21)))


CASES = {
    "durable-chain": case_chain,
    "durable-concurrent": case_concurrent,
    "durable-bytes": case_bytes,
    "durable-parked": case_parked,
}


def main(argv: list[str]) -> int:
    return w.case_main(CASES, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
