"""Where a durable workload's time goes: the engine's storage calls, the worker threads, the write
transactions and the event loop.

    python -m bench.storage_profile chain 10000 [--backend sqlite|postgresql] [--batch-events 256]
    python -m bench.storage_profile concurrent 2000
    python -m bench.storage_profile resume 1000        # parks 1,000 runs, then 21 resumes by correlation key
    python -m bench.storage_profile concurrent 2000 --cprofile 25   # and the event loop's own time, by function

Prints, per unit (a step for ``chain``, a run for ``concurrent``, one resume for ``resume``):

- each storage method the engine awaited: calls and milliseconds awaited (thread hop, queueing for a
  worker thread and the work itself);
- the worker threads: wall and CPU time inside the store (serialising, SQLAlchemy, the driver);
- the write transactions: how long they waited for the store's write lock, held it, ran their
  statements, and committed (on SQLite with ``synchronous=FULL`` the commit is the fsync of the log);
- the event loop thread's CPU time, and the process's.

The instruments (wrappers around the store's methods, a timed lock, SQLAlchemy cursor events) cost
a few microseconds per call; the numbers are for reading proportions, not for the record.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import cProfile
import pstats
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio

from bench import stores
from bench import workloads as w
from bench.profile import report

_METHODS = (
    "commit",
    "get_run",
    "read_events",
    "find_waits",
    "get_wait",
    "acquire_lease",
    "release_lease",
    "save_snapshot",
    "load_snapshot",
    "get_routine",
    "put_routine",
)


class Meter:
    """Totals by name: calls and seconds (added from any thread)."""

    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self.seconds: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()

    def add(self, name: str, seconds: float) -> None:
        with self._lock:
            self.calls[name] += 1
            self.seconds[name] += seconds

    def clear(self) -> None:
        self.calls.clear()
        self.seconds.clear()


class _TimedLock:
    """The store's write lock, timed: waiting for it and holding it."""

    def __init__(self, lock: Any, meter: Meter) -> None:
        self.lock, self.meter = lock, meter
        self.local = threading.local()

    def __enter__(self) -> None:
        t0 = time.perf_counter()
        self.lock.__enter__()
        self.local.acquired = now = time.perf_counter()
        self.meter.add("write lock: wait", now - t0)

    def __exit__(self, *exc: Any) -> None:
        self.lock.__exit__(*exc)
        self.meter.add("write lock: held", time.perf_counter() - self.local.acquired)


def instrument(engine: Any, loop: Meter, threads: Meter) -> None:
    """Time the engine's storage calls (awaited, on the loop) and the store's work (in the threads)."""
    storage = engine.storage
    for name in _METHODS:
        original = getattr(storage, name)

        async def timed(*args: Any, _original: Any = original, _name: str = name, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return await _original(*args, **kwargs)
            finally:
                loop.add(_name, time.perf_counter() - t0)

        setattr(storage, name, timed)
    # The thread side reaches into the backend's internals (SQLStorage._store, SyncStore.call and
    # .db, Database._writers and .engine): when they change, only the storage calls are timed.
    store = getattr(storage, "_store", None)
    db = getattr(store, "db", None)
    if store is None or db is None or not hasattr(store, "call") or not hasattr(db, "engine"):
        print("note: the store's internals are not the expected ones: worker threads not timed", file=sys.stderr)
        return
    call = store.call

    def timed_call(fn: Any, *args: Any) -> Any:
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            return call(fn, *args)
        finally:
            threads.add("in the store: wall", time.perf_counter() - t0)
            threads.add("in the store: CPU", time.thread_time() - c0)

    store.call = timed_call
    if getattr(db, "_writers", None) is not None:  # SQLite: one writer at a time per file
        db._writers = _TimedLock(db._writers, threads)
    _sql_events(db.engine, threads)


def _sql_events(engine: Any, meter: Meter) -> None:
    from sqlalchemy import event

    local = threading.local()

    @event.listens_for(engine, "before_cursor_execute")
    def before(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        local.t0 = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def after(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        meter.add("SQL: " + " ".join(statement.split()[:3])[:40], time.perf_counter() - local.t0)

    @event.listens_for(engine, "commit")
    def commit(conn: Any) -> None:
        local.commit = time.perf_counter()

    @event.listens_for(engine, "checkin")
    def checkin(dbapi_connection: Any, record: Any) -> None:
        # A connection goes back to the pool right after its transaction committed.
        started = getattr(local, "commit", None)
        if started is not None:
            meter.add("COMMIT (and return to the pool)", time.perf_counter() - started)
            local.commit = None


@contextlib.contextmanager
def _cpu(meter: Meter) -> Iterator[None]:
    t0, c0, p0 = time.perf_counter(), time.thread_time(), time.process_time()
    yield
    meter.add("wall", time.perf_counter() - t0)
    meter.add("event loop thread: CPU", time.thread_time() - c0)
    meter.add("process: CPU", time.process_time() - p0)


async def _chain(backend: str, n: int, batch: int, meters: tuple[Meter, Meter, Meter], prof: Any) -> int:
    engines = stores.DurableEngines(backend, batch_events=batch)
    async with engines.open_engine() as engine:
        warm, _ = await w.load(engine, w.chain_flow(100))
        await engine.run(warm)
        routine, _ = await w.load(engine, w.chain_flow(n))
        instrument(engine, meters[0], meters[1])
        with _cpu(meters[2]), prof:
            await engine.run(routine)
    return n


async def _concurrent(backend: str, n: int, batch: int, meters: tuple[Meter, Meter, Meter], prof: Any) -> int:
    engines = stores.DurableEngines(backend, batch_events=batch)
    async with engines.open_engine() as engine:
        routine, _ = await w.load(engine, w.latency_flow())
        await engine.run(routine)
        instrument(engine, meters[0], meters[1])
        with _cpu(meters[2]), prof:
            # As the durable-concurrent case: each run started and awaited by a task of its own.
            async def start_and_wait() -> None:
                await engine.wait((await engine.start(routine)).id, finished=True)

            async with anyio.create_task_group() as tg:
                for _ in range(n):
                    tg.start_soon(start_and_wait)
        group = getattr(engine.storage, "_group", None)
        if group is not None:
            print(f"writes per transaction (last {len(group.sizes)}): {group.sizes}")
    return n


async def _resume(backend: str, n: int, batch: int, meters: tuple[Meter, Meter, Meter], prof: Any) -> int:
    lookups = 21
    with stores.store_url(backend) as url:
        async with stores.open_at(url, batch_events=batch) as engine:
            routine, _ = await w.load(engine, w.parked_message_flow())
            for i in range(n):
                await engine.run(routine, {"key": f"order-{i}"})
        async with stores.open_at(url, batch_events=batch) as engine:
            await engine.send_message("resume", None, correlation="order-0")  # first-call costs
            instrument(engine, meters[0], meters[1])
            with _cpu(meters[2]), prof:
                for i in range(1, lookups + 1):
                    await engine.send_message("resume", None, correlation=f"order-{i * (n // (lookups + 1))}")
    return lookups


def _table(title: str, meter: Meter, units: int, unit: str) -> str:
    lines = [f"{title}:", f"{'calls/' + unit:>11} {'ms/' + unit:>10} {'ms/call':>9}  what"]
    for name, seconds in meter.seconds.most_common():
        calls = meter.calls[name]
        lines.append(f"{calls / units:11.3f} {seconds / units * 1e3:10.3f} {seconds / calls * 1e3:9.3f}  {name}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.storage_profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("shape", choices=("chain", "concurrent", "resume"))
    parser.add_argument("n", type=int, help="steps (chain), runs (concurrent), parked runs (resume)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--batch-events", type=int, default=256)
    parser.add_argument(
        "--cprofile", type=int, metavar="TOP", help="also profile the event loop thread (top functions)"
    )
    args = parser.parse_args(argv)
    if (reason := stores.missing(args.backend)) is not None:
        raise SystemExit(reason)
    meters = (Meter(), Meter(), Meter())
    prof = cProfile.Profile() if args.cprofile else contextlib.nullcontext()
    workload = {"chain": _chain, "concurrent": _concurrent, "resume": _resume}[args.shape]
    units = anyio.run(workload, args.backend, args.n, args.batch_events, meters, prof)
    unit = {"chain": "step", "concurrent": "run", "resume": "resume"}[args.shape]
    print(_table("time", meters[2], units, unit))
    print(_table("storage calls awaited by the engine (event loop)", meters[0], units, unit))
    print(_table("worker threads (write transactions, statements)", meters[1], units, unit))
    if isinstance(prof, cProfile.Profile):
        print(report(pstats.Stats(prof), units, unit, "tottime", args.cprofile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
