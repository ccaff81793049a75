"""Commit latency of the SQL store, and how long it holds up the event loop.

    python bench_io.py                      # SQLite in a temporary folder
    python bench_io.py --commits 5000
    python bench_io.py --postgresql postgresql://postgres@127.0.0.1/test   # in a schema it drops after

For each store it measures, on one run after another:

- ``commit``: ``await store.commit(...)`` of one event (what most engine steps write), as the engine
  calls it: through a worker thread;
- ``commit+record+wait``: one event, the run record and a wait (a step that parks its run);
- ``in-loop``: the same one-event commit called directly on the event loop (no thread): what the
  thread hop costs, and what blocking the loop would look like;
- ``8 runs at once``: eight tasks committing to eight runs concurrently (commits per second);
- ``loop late``: while the same commits run again, a task that sleeps 1 ms records how late it
  wakes up: how long the store held up the event loop (p99 and worst; ``idle loop`` is the
  lateness with no store work at all).

Numbers depend on the disk: with ``synchronous=FULL`` every SQLite commit waits for an fsync.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from vrooli_sqlalchemy import SQLStorage

from vrooli_core.serialization import make_converter
from vrooli_core.storage.base import Commit
from vrooli_core.testing.conformance import _storage_data as data


async def _stall_watch(lateness: list[float], stop: anyio.Event) -> None:
    while not stop.is_set():
        before = time.perf_counter()
        await anyio.sleep(0.001)
        lateness.append(time.perf_counter() - before - 0.001)


async def _latencies(n: int, step: Callable[[int], Awaitable[Any]]) -> list[float]:
    latencies: list[float] = []
    for i in range(n):
        t = time.perf_counter()
        await step(i)
        latencies.append(time.perf_counter() - t)
    return latencies


async def _stalls(n: int, step: Callable[[int], Awaitable[Any]]) -> list[float]:
    """How late a 1 ms sleeper wakes while ``n`` steps run (each step is followed by a yield, so a
    step that blocks the loop shows as lateness)."""
    lateness: list[float] = []
    stop = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(_stall_watch, lateness, stop)
        for i in range(n):
            await step(i)
            await anyio.sleep(0)
        stop.set()
    return lateness


def _ms(values: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(values, n=100)
    return statistics.mean(values) * 1000, q[49] * 1000, q[98] * 1000


def _report(label: str, latencies: list[float], lateness: list[float]) -> None:
    mean, p50, p99 = _ms(latencies)
    print(
        f"  {label:<20} mean {mean:6.3f} ms  p50 {p50:6.3f} ms  p99 {p99:6.3f} ms"
        f"  | loop late p99 {_ms(lateness)[2]:6.3f} ms  max {max(lateness) * 1000:6.2f} ms"
    )


async def bench(url: str, commits: int, drop_schema: str | None = None) -> None:
    store = SQLStorage.from_url(url, converter=make_converter())
    await store.open()
    try:
        print(url)
        run = f"bench-{time.time_ns()}"
        await store.commit(Commit(run, (data.created(run),), data.run(run)))
        seq = [1]

        async def one(_: int) -> None:
            seq[0] += 1
            await store.commit(Commit(run, (data.filler(run, seq[0]),)))

        async def parking(i: int) -> None:
            seq[0] += 1
            record = data.run(run, last_seq=seq[0])
            await store.commit(Commit(run, (data.filler(run, seq[0]),), record, (data.wait(f"{run}-w{i}", run),)))

        sync = store._store
        assert sync is not None

        async def in_loop(_: int) -> None:
            seq[0] += 1
            sync.call(sync.commit, Commit(run, (data.filler(run, seq[0]),)))

        async def idle(_: int) -> None:
            await anyio.sleep(0.001)

        print(f"  {'idle loop':<20} {'':47}| loop late p99 {_ms(await _stalls(500, idle))[2]:6.3f} ms")
        for label, step in (("commit", one), ("commit+record+wait", parking), ("in-loop (no thread)", in_loop)):
            await _latencies(min(50, commits), step)  # warm up
            _report(label, await _latencies(commits, step), await _stalls(commits, step))

        runs = [f"{run}-{k}" for k in range(8)]
        for r in runs:
            await store.commit(Commit(r, (data.created(r),), data.run(r)))

        async def writer(r: str) -> None:
            for s in range(2, commits // 8 + 2):
                await store.commit(Commit(r, (data.filler(r, s),)))

        t = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for r in runs:
                tg.start_soon(writer, r)
        elapsed = time.perf_counter() - t
        print(f"  {'8 runs at once':<22} {8 * (commits // 8) / elapsed:8.0f} commits/s")
    finally:
        if drop_schema is not None and store._store is not None:
            with store._store.db.write() as conn:
                conn.exec_driver_sql(f'DROP SCHEMA "{drop_schema}" CASCADE')
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--postgresql", metavar="URL", help="also measure this PostgreSQL database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for sync in ("FULL", "NORMAL"):
            anyio.run(bench, f"sqlite:///{Path(folder) / sync.lower()}.db?synchronous={sync}", args.commits)
    if args.postgresql:
        schema = f"vrooli_bench_{os.getpid()}"
        url = f"{args.postgresql}{'&' if '?' in args.postgresql else '?'}schema={schema}"
        anyio.run(bench, url, args.commits, schema)


if __name__ == "__main__":
    main()
