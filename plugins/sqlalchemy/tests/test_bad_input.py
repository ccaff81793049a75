"""Bad input and faults: files that are not stores, databases of other applications, schemas the
migrations did not make, a locked SQLite file, a lost PostgreSQL connection, malformed URLs.

Each gives a typed error naming the store and what is wrong; no recorded event is lost or recorded
twice, and a run goes on once the fault is gone. The lost-connection cases go through ``Relay``,
a TCP relay to the PostgreSQL server that breaks a connection at a chosen message.
"""

from __future__ import annotations

import dataclasses
import os
import random
import socket
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import psycopg
import pytest
from sql_servers import PostgresServer
from vrooli_sqlalchemy import (
    ConnectionLostError,
    DatabaseFileError,
    DatabaseLockedError,
    SchemaMismatchError,
    SQLStorage,
    migrate,
)
from vrooli_sqlalchemy.database import Database
from vrooli_sqlalchemy.url import parse_url

from vrooli_core import Engine
from vrooli_core.engine import open_storage
from vrooli_core.errors import ConfigError, DuplicateEventError, StorageError
from vrooli_core.execution.tools import tool
from vrooli_core.model import Event, RoutineSource, RunStatus
from vrooli_core.model.events import StepCompleted, StepStarted, WaitResolved
from vrooli_core.plugins import PluginHost
from vrooli_core.serialization import make_converter
from vrooli_core.storage.base import Commit
from vrooli_core.testing.conformance import _storage_data as data

STEPS = ("a", "b", "c")
ABC = RoutineSource(
    """
id = "abc"
start = "a"
[steps.a]
kind = "tool"
tool = "mark"
next = "b"
[steps.b]
kind = "tool"
tool = "mark"
next = "c"
[steps.c]
kind = "tool"
tool = "mark"
""",
    "abc.flow.toml",
    "flow",
)
APPROVAL = RoutineSource(
    """
id = "approval"
start = "review"
[steps.review]
kind = "human"
title = "Approve the order"
next = "a"
[steps.a]
kind = "tool"
tool = "mark"
""",
    "approval.flow.toml",
    "flow",
)


class Marks:
    """The ``mark`` tool: records each call (step, idempotency key) and runs what a test hooked
    on a step, once, before returning ``output-of-<step>``."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.hooks: dict[str, Callable[[], None]] = {}

        @tool(name="mark")
        def mark(ctx: Any) -> dict[str, str]:
            self.calls.append((ctx.step.id, ctx.idempotency_key))
            hook = self.hooks.pop(ctx.step.id, None)
            if hook is not None:
                hook()
            return {ctx.step.id: f"output-of-{ctx.step.id}"}

        self.tool = mark

    def steps(self) -> list[str]:
        return [step for step, _ in self.calls]


def assert_recorded_once(events: list[Event], steps: tuple[str, ...] = STEPS) -> None:
    """The log has no gaps, and each step completed exactly once."""
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    completed = Counter(e.payload.step for e in events if isinstance(e.payload, StepCompleted))
    assert completed == dict.fromkeys(steps, 1), completed


def open_store(url: str) -> None:
    async def main() -> None:
        store = SQLStorage.from_url(url, converter=make_converter())
        await store.open()
        await store.close()

    anyio.run(main)


def execute(url: str, *statements: str) -> None:
    """Run SQL on the store's database as it is (no migration)."""
    db = Database(parse_url(url + ("&" if "?" in url else "?") + "migrate=0"))
    try:
        with db.write() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        db.close()


# -- files that are not stores --------------------------------------------------------------------


def a_store_file(path: Path) -> bytes:
    """The bytes of a store holding a few runs (several pages)."""

    async def main() -> None:
        store = SQLStorage.from_url(f"sqlite:///{path}", converter=make_converter())
        await store.open()
        for i in range(20):
            await store.commit(Commit(f"run-{i}", (data.created(f"run-{i}"),), data.run(f"run-{i}")))
        await store.close()

    anyio.run(main)
    return path.read_bytes()


@pytest.mark.parametrize(
    ("content", "reason", "message"),
    [
        (lambda p: random.Random(7).randbytes(8192), "not_sqlite", "is not a SQLite database"),
        (lambda p: b"id,name\n1,Ada\n2,Grace\n" * 50, "not_sqlite", r"is not a SQLite database \(it begins b'id,name"),
        (lambda p: a_store_file(p)[:-20_000], "damaged", "damaged .*malformed.*not changed.*backup"),
        (lambda p: a_store_file(p)[:60], "damaged", "damaged"),
    ],
    ids=["random-bytes", "text", "truncated", "header-only"],
)
def test_a_file_that_is_not_a_usable_sqlite_database_is_refused_unchanged(
    tmp_path: Path, content: Callable[[Path], bytes], reason: str, message: str
) -> None:
    path = tmp_path / "runs.db"
    path.write_bytes(content(tmp_path / "source.db"))
    before = path.read_bytes()
    url = f"sqlite:///{path}"
    attempts: list[Callable[[str], object]] = [open_store, migrate.upgrade, migrate.current]
    for attempt in attempts:
        with pytest.raises(DatabaseFileError, match=message) as info:
            attempt(url)
        assert isinstance(info.value, StorageError)
        assert info.value.reason == reason and info.value.path == path
        assert str(path) in str(info.value)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("runs.db")) == ["runs.db"]


def test_a_folder_is_not_a_database_file(tmp_path: Path) -> None:
    with pytest.raises(DatabaseFileError, match="is a folder") as info:
        open_store(f"sqlite:///{tmp_path}")
    assert info.value.reason == "unusable"


def test_an_empty_file_is_a_new_store(tmp_path: Path) -> None:
    (tmp_path / "runs.db").touch()
    open_store(f"sqlite:///{tmp_path / 'runs.db'}")
    assert migrate.current(f"sqlite:///{tmp_path / 'runs.db'}") == migrate.head()


# -- other applications' databases, schemas the migrations did not make ------------------------


def test_another_applications_sqlite_file_is_refused_unless_asked_for(tmp_path: Path) -> None:
    """Opening would add tables and switch the whole file to WAL mode (a change the other
    application sees): refused, the file unchanged. ``vrooli db upgrade`` adds them on purpose."""
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        raw.execute("INSERT INTO customers (name) VALUES ('Ada')")
    raw.close()
    before = path.read_bytes()
    url = f"sqlite:///{path}"
    with pytest.raises(DatabaseFileError, match=r"another application's database \(tables customers\)") as info:
        open_store(url)
    assert info.value.reason == "foreign" and f"vrooli db upgrade --store {url}" in str(info.value)
    assert path.read_bytes() == before
    assert migrate.current(url) is None and path.read_bytes() == before
    migrate.upgrade(url)
    open_store(url)
    with sqlite3.connect(path) as raw:
        assert raw.execute("SELECT name FROM customers").fetchall() == [("Ada",)]
        assert raw.execute("SELECT count(*) FROM vrooli_runs").fetchone() == (0,)
    raw.close()


def test_a_postgresql_schema_with_other_tables_gets_the_vrooli_tables_beside_them(
    postgres: PostgresServer, postgres_url: str
) -> None:
    schema = parse_url(postgres_url).schema
    assert schema is not None
    postgres.execute(schema, f'CREATE SCHEMA "{schema}"; CREATE TABLE customers (id int PRIMARY KEY, name text)')
    postgres.execute(schema, "INSERT INTO customers VALUES (1, 'Ada')")
    open_store(postgres_url)
    assert migrate.current(postgres_url) == migrate.head()
    assert postgres.execute(schema, "SELECT name FROM customers") == [("Ada",)]


@pytest.mark.parametrize("version_table", ["dropped", "emptied"])
def test_vrooli_tables_without_a_revision_are_refused(db_url: str, version_table: str) -> None:
    migrate.upgrade(db_url)
    execute(
        db_url,
        "DROP TABLE vrooli_alembic_version" if version_table == "dropped" else "DELETE FROM vrooli_alembic_version",
    )
    for attempt in (open_store, migrate.upgrade):
        with pytest.raises(
            SchemaMismatchError, match=r"vrooli tables \(vrooli_docs, .*\) but no revision in vrooli_alembic_version"
        ):
            attempt(db_url)


def test_tables_that_do_not_match_the_revision_are_refused(db_url: str) -> None:
    migrate.upgrade(db_url)
    execute(
        db_url,
        "ALTER TABLE vrooli_runs ADD COLUMN notes TEXT",
        "ALTER TABLE vrooli_docs DROP COLUMN data",
        "DROP TABLE vrooli_leases",
    )
    with pytest.raises(SchemaMismatchError) as info:
        open_store(db_url)
    message = str(info.value)
    for problem in (
        "vrooli_docs lacks data",
        "table vrooli_leases is missing",
        "vrooli_runs has notes",
        migrate.head(),
    ):
        assert problem in message


# -- a locked SQLite file --------------------------------------------------------------------------


class WriteLock:
    """Another connection holding the file's write lock (``BEGIN EXCLUSIVE``) until released."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("BEGIN EXCLUSIVE")

    def release(self) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()


@pytest.mark.anyio
async def test_a_locked_database_fails_the_commit_and_the_run_goes_on_after(tmp_path: Path, host: PluginHost) -> None:
    """Another connection takes the write lock while step b runs and keeps it past busy_timeout:
    the commit of b's completion fails with DatabaseLockedError, the history stays as it was, and
    once the lock is released ``resume`` finishes the run (b executed again with its idempotency
    key, every step recorded once)."""
    path = tmp_path / "runs.db"
    url = f"sqlite:///{path}?busy_timeout=150"
    marks = Marks()
    lock: list[WriteLock] = []
    marks.hooks["b"] = lambda: lock.append(WriteLock(path))
    async with Engine.open(url, host=host, tools=[marks.tool]) as engine:
        with pytest.raises(DatabaseLockedError, match=r"locked: another connection .* busy_timeout \(150 ms\)") as info:
            await engine.run(ABC, run_id="locked")
        assert isinstance(info.value, StorageError) and info.value.path == path
        if Path("/proc/locks").exists():
            assert info.value.holders == (os.getpid(),) and "held by this process" in str(info.value)
        reader = SQLStorage.from_url(url, converter=make_converter())
        await reader.open()  # reading needs no write lock (WAL)
        try:
            events = await reader.read_events("locked")
            steps = [(type(e.payload).__name__, e.payload.step) for e in events if hasattr(e.payload, "step")]
            assert steps == [("StepStarted", "a"), ("StepCompleted", "a"), ("StepStarted", "b")]
            assert (await reader.get_run("locked")).status is RunStatus.RUNNING
        finally:
            await reader.close()
        lock[0].release()
        run = await engine.resume("locked")
        assert run.status is RunStatus.COMPLETED
        assert run.outputs == {s: f"output-of-{s}" for s in STEPS}
        events = await engine.history("locked")
    assert_recorded_once(events)
    assert marks.steps() == ["a", "b", "b", "c"] and marks.calls[1] == marks.calls[2]
    assert sum(isinstance(e.payload, StepStarted) and e.payload.step == "b" for e in events) == 1


@pytest.mark.anyio
async def test_answering_a_task_on_a_locked_database_can_be_done_again(tmp_path: Path, host: PluginHost) -> None:
    path = tmp_path / "runs.db"
    url = f"sqlite:///{path}?busy_timeout=100"
    marks = Marks()
    async with Engine.open(url, host=host, tools=[marks.tool]) as engine:
        run = await engine.run(APPROVAL)
        (task,) = await engine.tasks()
        lock = WriteLock(path)
        try:
            with pytest.raises(DatabaseLockedError):
                await engine.complete_task(task.id, {"ok": True})
            assert [t.id for t in await engine.tasks()] == [task.id]
        finally:
            lock.release()
        done = await engine.complete_task(task.id, {"ok": True})
        assert done.status is RunStatus.COMPLETED
        events = await engine.history(run.id)
    assert_recorded_once(events, ("a",))
    assert sum(isinstance(e.payload, WaitResolved) for e in events) == 1
    assert marks.steps() == ["a"]


HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()
"""


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="the lock holder is known from Linux's /proc/locks")
def test_the_locked_error_names_the_process_holding_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    url = f"sqlite:///{path}?busy_timeout=100"
    migrate.upgrade(url)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"

        async def main() -> None:
            store = SQLStorage.from_url(url, converter=make_converter())
            await store.open()
            try:
                with pytest.raises(DatabaseLockedError, match=rf"held by process {holder.pid} \(python") as info:
                    await store.put_doc("notes", "n1", {"text": "hello"})
                assert info.value.holders == (holder.pid,)
                holder.communicate("", timeout=10)  # the holder ends: its lock goes with it
                await store.put_doc("notes", "n1", {"text": "hello"})
                assert await store.get_doc("notes", "n1") == {"text": "hello"}
            finally:
                await store.close()

        anyio.run(main)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


# -- a lost PostgreSQL connection -------------------------------------------------------------------

COMMIT = b"Q\x00\x00\x00\x0bCOMMIT\x00"  # psycopg's COMMIT: a simple-query message


@dataclasses.dataclass
class Cut:
    """Where and how the relay breaks a connection (see ``Relay``)."""

    marker: bytes
    answered: bool
    then_down: bool = False
    meanwhile: Callable[[], object] | None = None


class Relay:
    """A TCP relay to the PostgreSQL server. ``cut(marker)`` breaks the next connection that sends
    ``marker``: before the server gets that message, or (``answered``) after the server answered
    it, dropping the answer. The server's side closes first; ``meanwhile`` runs before the client's
    side closes; ``then_down`` takes the relay down too. ``down()`` breaks every connection and
    refuses new ones, until ``up()``."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.cuts = 0
        self._cut: Cut | None = None
        self._down = False
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut(
        self, marker: bytes, *, answered: bool, then_down: bool = False, meanwhile: Callable[[], object] | None = None
    ) -> None:
        self._cut = Cut(marker, answered, then_down, meanwhile)

    def down(self) -> None:
        self._down = True
        with self._lock:
            for sock in list(self._open):
                _close(sock)

    def up(self) -> None:
        self._down = False

    def close(self) -> None:
        self.down()
        self.listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self._down:
                _close(client)
                continue
            server = socket.create_connection(self.target)
            with self._lock:
                self._open.update((client, server))
            pending: list[Cut] = []  # a cut waiting for the server's answer
            threading.Thread(target=self._pump, args=(client, server, pending, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, pending, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, pending: list[Cut], from_client: bool) -> None:
        done: Cut | None = None
        try:
            while data := src.recv(65536):
                cut = self._cut
                if from_client and cut is not None and cut.marker in data:
                    self._cut = None
                    self.cuts += 1
                    if not cut.answered:
                        done = self._break(cut, server=dst)  # the server never gets the message
                        break
                    pending.append(cut)  # before the message goes: its answer cannot come sooner
                elif not from_client and pending:
                    done = self._break(pending[0], server=src)  # the answer is dropped
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                for sock in (src, dst):
                    self._open.discard(sock)
                    _close(sock)
            if done is not None and done.then_down:
                self.down()

    def _break(self, cut: Cut, *, server: socket.socket) -> Cut:
        if cut.then_down:
            self._down = True  # before the client can notice and connect again
        _close(server)
        if cut.meanwhile is not None:
            cut.meanwhile()
        return cut


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


@pytest.fixture
def relay(postgres: PostgresServer, postgres_url: str) -> Iterator[tuple[Relay, str]]:
    """A relay to the server, and the test's store URL through it."""
    parts = urlsplit(postgres_url)
    relay = Relay(parts.hostname or "127.0.0.1", parts.port or 5432)
    netloc = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    try:
        yield relay, parts._replace(netloc=f"{netloc}127.0.0.1:{relay.port}").geturl()
    finally:
        relay.close()


def terminate(postgres: PostgresServer, application_name: str) -> int:
    with psycopg.connect(postgres.base, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = %s",
            (application_name,),
        ).fetchall()
    return len(rows)


@pytest.mark.anyio
async def test_connections_killed_between_steps_are_replaced(
    postgres: PostgresServer, postgres_url: str, host: PluginHost
) -> None:
    """An administrator terminates the store's connections (``pg_terminate_backend``) while a run
    is between steps and while it waits for a person: the run goes on as if nothing happened."""
    name = f"vt-{uuid.uuid4().hex[:8]}"
    killed: list[int] = []
    marks = Marks()
    marks.hooks["a"] = lambda: killed.append(terminate(postgres, name))
    async with Engine.open(f"{postgres_url}&application_name={name}", host=host, tools=[marks.tool]) as engine:
        run = await engine.run(APPROVAL)
        assert run.status is RunStatus.WAITING
        killed.append(terminate(postgres, name))
        (task,) = await engine.tasks()
        done = await engine.complete_task(task.id, {"ok": True})
        assert done.status is RunStatus.COMPLETED
        events = await engine.history(run.id)
    assert len(killed) == 2 and min(killed) >= 1
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert marks.steps() == ["a"]


def test_store_connections_are_named_vrooli_unless_the_url_says(postgres_url: str) -> None:
    for url, name in ((postgres_url, "vrooli"), (f"{postgres_url}&application_name=billing", "billing")):
        db = Database(parse_url(url))
        try:
            with db.read() as conn:
                assert conn.exec_driver_sql("SELECT current_setting('application_name')").scalar() == name
        finally:
            db.close()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("marker", "answered"),
    [(b"output-of-b", False), (COMMIT, False), (COMMIT, True)],
    ids=["inside-the-transaction", "before-commit-arrives", "commit-stored-answer-lost"],
)
async def test_a_connection_lost_during_a_commit_is_resolved(
    relay: tuple[Relay, str], host: PluginHost, marker: bytes, answered: bool
) -> None:
    """The connection breaks while b's completion is committed: in the middle of the transaction,
    with the COMMIT not delivered, or after the server stored it (the answer lost). The store finds
    out on a new connection (reading the events back when the COMMIT was sent) and commits again
    only what was not stored: the run finishes in one go, b executed once, every step recorded once."""
    proxy, url = relay
    marks = Marks()
    marks.hooks["b"] = lambda: proxy.cut(marker, answered=answered)
    async with Engine.open(url, host=host, tools=[marks.tool]) as engine:
        run = await engine.run(ABC)
        assert run.status is RunStatus.COMPLETED
        events = await engine.history(run.id)
    assert proxy.cuts == 1
    assert_recorded_once(events)
    assert marks.steps() == ["a", "b", "c"]


@pytest.mark.anyio
@pytest.mark.parametrize("when", ["before-the-commit", "commit-stored-answer-lost"])
async def test_a_server_gone_mid_run_is_a_typed_error_and_the_run_goes_on_after(
    relay: tuple[Relay, str], host: PluginHost, when: str
) -> None:
    """The server cannot be reached while b's completion is committed: ConnectionLostError, with
    ``committed`` False (nothing was sent) or None (the COMMIT was sent and its answer lost: it
    cannot be checked). Once the server is back, ``resume`` reloads the run from storage, which
    has b's completion or not, and finishes it: every step recorded once."""
    proxy, url = relay
    marks = Marks()
    if when == "before-the-commit":
        marks.hooks["b"] = proxy.down
    else:
        marks.hooks["b"] = lambda: proxy.cut(COMMIT, answered=True, then_down=True)
    async with Engine.open(url, host=host, tools=[marks.tool]) as engine:
        with pytest.raises(ConnectionLostError, match=r"connection to the server was lost") as info:
            await engine.run(ABC, run_id="gone")
        assert "127.0.0.1" in str(info.value)
        proxy.up()
        if when == "before-the-commit":
            assert info.value.committed is False
        else:
            assert info.value.committed is None and "cannot be checked" in str(info.value)
        run = await engine.resume("gone")
        assert run.status is RunStatus.COMPLETED
        events = await engine.history("gone")
    assert_recorded_once(events)
    if when == "before-the-commit":
        assert marks.steps() == ["a", "b", "b", "c"] and marks.calls[1] == marks.calls[2]
    else:
        assert marks.steps() == ["a", "b", "c"]


@pytest.mark.anyio
async def test_a_lost_commit_whose_numbers_another_writer_took_is_a_duplicate(
    postgres: PostgresServer, relay: tuple[Relay, str]
) -> None:
    """While the connection is gone, another writer appends the same sequence number: the lost
    commit is not made again, it gets DuplicateEventError, as if it had lost the race.

    The relay closes the client's side as soon as the server's side is gone, so the store may come
    back and make its commit before the other writer gets in (the other writer then fails on event
    2, or is picked to end a deadlock): that is a race the other writer lost, and the commit must
    then be stored. The scenario is tried again on a new run until the other writer gets in first."""
    proxy, url = relay
    schema = parse_url(url).schema
    assert schema is not None
    store = SQLStorage.from_url(url, converter=make_converter())
    await store.open()
    try:
        for attempt in range(8):
            run = f"run-{attempt}"
            await store.commit(Commit(run, (data.created(run),), data.run(run)))
            other = f"INSERT INTO vrooli_events (run_id, seq, at, type, data) VALUES ('{run}', 2, 0, 'other', '{{}}')"
            won: list[bool] = []

            def other_writer(other: str = other, won: list[bool] = won) -> None:
                try:
                    postgres.execute(schema, other)
                except psycopg.Error:  # it lost the race (a duplicate, or the deadlock's victim)
                    won.append(False)
                else:
                    won.append(True)

            proxy.cut(COMMIT, answered=False, meanwhile=other_writer)
            try:
                await store.commit(Commit(run, (data.filler(run, 2),)))
            except DuplicateEventError as exc:
                await _settled(won)
                assert won == [True] and "event 2 is already recorded" in str(exc)
                assert proxy.cuts == attempt + 1
                rows = postgres.execute(schema, f"SELECT seq, type FROM vrooli_events WHERE run_id = '{run}' ORDER BY seq")
                assert rows[1:] == [(2, "other")]
                return
            await _settled(won)
            assert won == [False], "the lost commit was made again over the other writer's event"
            rows = postgres.execute(schema, f"SELECT seq, type FROM vrooli_events WHERE run_id = '{run}' ORDER BY seq")
            assert [t for _, t in rows][1:] == [data.filler(run, 2).type]
        pytest.fail("the other writer never got in before the store came back")
    finally:
        await store.close()


async def _settled(outcome: list[bool]) -> None:
    """Wait (a little) for the other writer's thread to say how it fared."""
    with anyio.fail_after(10):
        while not outcome:
            await anyio.sleep(0.01)


@pytest.mark.anyio
@pytest.mark.parametrize("answered", [False, True], ids=["not-stored", "stored"])
async def test_a_lost_commit_of_a_run_record_alone_is_made_again(relay: tuple[Relay, str], answered: bool) -> None:
    proxy, url = relay
    store = SQLStorage.from_url(url, converter=make_converter())
    await store.open()
    try:
        await store.commit(Commit("run-1", (data.created("run-1"),), data.run("run-1")))
        proxy.cut(COMMIT, answered=answered)
        await store.commit(Commit("run-1", run=data.run("run-1", status=RunStatus.WAITING, last_seq=1)))
        assert proxy.cuts == 1
        assert (await store.get_run("run-1")).status is RunStatus.WAITING
    finally:
        await store.close()


@pytest.mark.anyio
@pytest.mark.parametrize("answered", [False, True], ids=["not-stored", "stored"])
async def test_a_claim_whose_commit_answer_is_lost_returns_what_it_took(
    relay: tuple[Relay, str], answered: bool
) -> None:
    """A worker's claim loses its connection during the COMMIT: it returns the runs its lease is on
    if it was stored, none if not; either way no run is leased without its claimer knowing."""
    proxy, url = relay
    store = SQLStorage.from_url(url, converter=make_converter())
    await store.open()
    try:
        for i in range(3):
            await store.commit(Commit(f"run-{i}", (data.created(f"run-{i}"),), data.run(f"run-{i}")))
        proxy.cut(COMMIT, answered=answered)
        claimed = await store.claim_runs("w1", now=100.0, until=130.0, due_before=100.0, limit=2)
        assert proxy.cuts == 1
        taken = ["run-0", "run-1"] if answered else []
        assert claimed == taken
        rest = [f"run-{i}" for i in range(3) if f"run-{i}" not in taken]
        assert await store.claim_runs("w2", now=100.0, until=130.0, due_before=100.0, limit=5) == rest
    finally:
        await store.close()


# -- URLs -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://", "names a file"),
        ("sqlite:///", "is a file"),
        ("sqlite:/runs.db", "starts with sqlite://"),
        ("sqlite+aiosqlite:///runs.db", r"driver 'aiosqlite' is not supported.*sqlite3"),
        ("sqlite:///runs.db?busy_timeout=-1", "busy_timeout is a number of milliseconds"),
        ("sqlite:///runs.db?journal=wal", r"unknown option\(s\) journal"),
        ("sqlite:///runs.db?migrate=1&migrate=0", "given twice"),
        ("postgresql+asyncpg://app:pw@db.example/runs", r"driver 'asyncpg' is not supported.*psycopg 3"),
        ("postgresql+psycopg2://app:pw@db.example/runs", "driver 'psycopg2' is not supported"),
        ("postgres://app:pw@db.example/runs", "write postgresql://"),
        ("postgresql://app:pw@db.example/runs?sslmod=require", 'invalid URI query parameter: "sslmod"'),
        ("postgresql://app:pw@db.example/runs?schema=", "schema must be a plain identifier"),
        ("postgresql://app@db.example/runs?password=pw&schema=1x", "schema must be a plain identifier"),
        ("postgresql://app:pw@[db.example/runs", "not a valid URL"),
        ("postgresql://app:pw@db.example/runs?migrate=later", "migrate must be 1 or 0"),
    ],
)
def test_bad_urls_name_the_url_and_the_problem(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        SQLStorage.from_url(url, converter=make_converter())
    shown = str(info.value)
    assert "pw" not in shown, "a password was shown"
    assert shown.startswith(url.split("://")[0]), "the URL is not named"


def test_through_the_kernel_the_plugins_url_errors_arrive_as_they_are(host: PluginHost) -> None:
    with pytest.raises(ConfigError, match="busy_timeout"):
        open_storage(host, "sqlite:///runs.db?busy_timeout=soon", make_converter())
    with pytest.raises(ConfigError, match="no storage backend"):
        open_storage(host, "mysql://app@db.example/runs", make_converter())


def test_the_kernel_hides_the_password_of_a_url_it_has_no_backend_for(host: PluginHost) -> None:
    with pytest.raises(ConfigError) as info:
        open_storage(host, "postgresql+asyncpg://app:secret@db.example/runs", make_converter())
    assert "secret" not in str(info.value)
