"""Durability: engines on a store URL across restarts, and appends two writers race for."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import pytest
from vrooli_sqlalchemy import SQLStorage

from vrooli_core import Engine
from vrooli_core.errors import DuplicateEventError
from vrooli_core.model import RoutineSource, RunStatus, WaitKind
from vrooli_core.plugins import PluginHost
from vrooli_core.serialization import make_converter
from vrooli_core.storage.base import Commit, StorageBackend
from vrooli_core.testing.conformance import _storage_data as data

APPROVAL = RoutineSource(
    """
id = "approval"
start = "review"
outputs = {properties = {ok = {type = "boolean"}}}
[steps.review]
kind = "human"
title = "Approve the order"
""",
    "approval.flow.toml",
    "flow",
)


async def stores(url: str, count: int) -> list[StorageBackend]:
    opened: list[StorageBackend] = []
    for _ in range(count):
        store = SQLStorage.from_url(url, converter=make_converter())
        await store.open()
        opened.append(store)
    return opened


@pytest.mark.anyio
async def test_a_run_waits_for_a_person_across_a_restart(tmp_path: Path, host: PluginHost) -> None:
    """The URL goes through the plugin host (``sqlite://`` picks this backend); the first engine is
    closed while the run waits, and an engine opened later on the same file finishes it."""
    url = f"sqlite:///{tmp_path / 'durable.db'}"
    async with Engine.open(url, host=host) as engine:
        assert isinstance(engine.storage, SQLStorage)
        run = await engine.run(APPROVAL)
        assert run.status is RunStatus.WAITING
    # Another process would see this file as it is now: WAL mode, the run and its open task.
    with sqlite3.connect(tmp_path / "durable.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("SELECT status FROM vrooli_runs WHERE id = ?", (run.id,)).fetchone() == ("waiting",)
    async with Engine.open(url, host=host) as engine:
        (task,) = await engine.tasks()
        assert task.run_id == run.id and task.spec.kind is WaitKind.HUMAN
        done = await engine.complete_task(task.id, {"ok": True})
        assert done.status is RunStatus.COMPLETED and done.outputs == {"ok": True}
    async with Engine.open(url, host=host) as engine:
        assert (await engine.get_run(run.id)).status is RunStatus.COMPLETED
        assert [e.seq for e in await engine.history(run.id)] == list(range(1, done.last_seq + 1))
        assert await engine.tasks() == []


@pytest.mark.anyio
async def test_a_duplicate_append_writes_nothing_of_its_commit(db_url: str) -> None:
    """Two writers on one run: the second to append event 4 gets DuplicateEventError, and its run
    record, new wait and dropped wait are not written either."""
    first, second = await stores(db_url, 2)
    try:
        await first.commit(Commit("run-1", (data.created("run-1"),), data.run("run-1"), (data.wait("w0", "run-1"),)))
        for seq in (2, 3):
            await first.commit(Commit("run-1", (data.filler("run-1", seq),)))
        winner = data.filler("run-1", 4)
        await first.commit(
            Commit(
                "run-1", (winner,), data.run("run-1", status=RunStatus.WAITING, last_seq=4), (data.wait("w1", "run-1"),)
            )
        )
        loser = Commit(
            "run-1",
            (data.filler("run-1", 4, at=data.T0 + 100), data.filler("run-1", 5)),
            data.run("run-1", status=RunStatus.FAILED, last_seq=5, labels={"lost": "yes"}),
            (data.wait("w2", "run-1"),),
            ("w0",),
        )
        with pytest.raises(DuplicateEventError):
            await second.commit(loser)
        record = await second.get_run("run-1")
        assert (record.status, record.last_seq, dict(record.labels)) == (RunStatus.WAITING, 4, {})
        assert (await second.read_events("run-1"))[-1] == winner
        assert [w.id for w in await second.find_waits(run_id="run-1")] == ["w0", "w1"]
        assert await second.list_runs(labels={"lost": "yes"}) == []
    finally:
        for store in (first, second):
            await store.close()


@pytest.mark.anyio
async def test_racing_writers_never_both_append(db_url: str) -> None:
    """Two writers create the same runs and append the same sequence numbers at the same time:
    every number is recorded once, the loser of each race gets DuplicateEventError."""
    writers = await stores(db_url, 2)
    outcomes: dict[str, list[str]] = {}

    async def race(store: StorageBackend, run_id: str, who: str) -> None:
        for seq in range(1, 6):
            event = data.created(run_id) if seq == 1 else data.filler(run_id, seq, at=data.T0 + (who == "b"))
            try:
                await store.commit(Commit(run_id, (event,), data.run(run_id, last_seq=seq) if seq == 1 else None))
                outcomes.setdefault(run_id, []).append(f"{seq}:{who}")
            except DuplicateEventError:
                outcomes.setdefault(run_id, []).append(f"{seq}:lost")
                await anyio.sleep(0)

    try:
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for i in range(8):
                    for store, who in zip(writers, "ab", strict=True):
                        tg.start_soon(race, store, f"run-{i}", who)
        for i in range(8):
            run_id = f"run-{i}"
            won = sorted(o for o in outcomes[run_id] if not o.endswith("lost"))
            assert [int(o.split(":")[0]) for o in won] == [1, 2, 3, 4, 5], outcomes[run_id]
            events = await writers[0].read_events(run_id)
            assert [e.seq for e in events] == [1, 2, 3, 4, 5]
    finally:
        for store in writers:
            await store.close()


def test_sqlite_connection_settings(tmp_path: Path) -> None:
    async def main() -> None:
        url = f"sqlite:///{tmp_path / 's.db'}?synchronous=NORMAL&busy_timeout=1234"
        store = SQLStorage.from_url(url, converter=make_converter())
        await store.open()
        try:
            assert store._store is not None
            with store._store.db.read() as conn:
                pragmas = {p: conn.exec_driver_sql(f"PRAGMA {p}").scalar() for p in PRAGMAS}
        finally:
            await store.close()
        assert pragmas == {"journal_mode": "wal", "synchronous": 1, "busy_timeout": 1234, "foreign_keys": 1}

    anyio.run(main)


PRAGMAS = ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")

WRITER = """
import sys, anyio
from vrooli_sqlalchemy import SQLStorage
from vrooli_core.serialization import make_converter
from vrooli_core.storage.base import Commit
from vrooli_core.testing.conformance import _storage_data as data

async def main(url, run_id):
    store = SQLStorage.from_url(url, converter=make_converter())
    await store.open()
    await store.commit(Commit(run_id, (data.created(run_id),), data.run(run_id)))
    for seq in range(2, 41):
        await store.commit(Commit(run_id, (data.filler(run_id, seq),), put_waits=(data.wait(f"{run_id}-{seq}", run_id),)))
    await store.close()

anyio.run(main, sys.argv[1], sys.argv[2])
"""


def test_processes_write_one_sqlite_file_at_once(tmp_path: Path) -> None:
    """Three processes commit to one file at the same time (SQLite's write lock and busy_timeout
    between them): every commit of each lands."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    from vrooli_sqlalchemy import migrate

    migrate.upgrade(url)  # so the processes race on commits, not on creating the schema
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, url, f"proc-{i}"]) for i in range(3)]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    with sqlite3.connect(tmp_path / "shared.db") as raw:
        counts = raw.execute("SELECT run_id, count(*), max(seq) FROM vrooli_events GROUP BY run_id ORDER BY run_id")
        assert counts.fetchall() == [(f"proc-{i}", 40, 40) for i in range(3)]
        assert raw.execute("SELECT count(*) FROM vrooli_waits").fetchone() == (117,)


def test_engines_opening_a_new_sqlite_file_at_once(tmp_path: Path) -> None:
    """Stores opened on a new file at the same moment: one switches it to WAL and migrates it, the
    others wait for that instead of failing with "database is locked"."""

    async def main(url: str) -> None:
        async def one() -> None:
            store = SQLStorage.from_url(url, converter=make_converter())
            await store.open()
            await store.list_runs()
            await store.close()

        async with anyio.create_task_group() as tg:
            for _ in range(6):
                tg.start_soon(one)

    for trial in range(5):
        anyio.run(main, f"sqlite:///{tmp_path / f'new-{trial}.db'}")
