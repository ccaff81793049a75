"""Worker processes for the crash test (``test_crash.py``).

``python crash_worker.py STORE_URL EFFECTS_DIR`` is one worker: it moves runs from the store
(``Engine.work``) until it is killed, or stopped with SIGTERM or SIGINT (then it exits with 0).

``python crash_worker.py STORE_URL EFFECTS_DIR --forks`` starts workers fast, for a test that kills
dozens of them: it imports and loads what a worker needs once, says ``standby``, and then, for each
``fork LOG_FILE`` line on stdin, forks a worker (stderr to LOG_FILE) and says ``started PID``. A
worker says ``ready PID`` once its engine is open; each worker that ends is reaped and reported as
``exited PID CODE`` (a negative code is the signal that ended it). At the end of stdin the remaining
workers are killed. Nothing but this loop runs in the forking process: no thread, no event loop,
no database connection is forked.

The workers' one tool, ``effect``, has a side effect outside the store: a file in EFFECTS_DIR per
idempotency key, holding the step id. A step that was in flight when a worker died is executed
again by the next worker with the same key; ``effect`` finds its file and does not repeat the effect.
"""

from __future__ import annotations

import os
import selectors
import signal
import sys
import traceback
import uuid
from pathlib import Path
from typing import Any

import anyio
import anyio.abc

from vrooli_core import Engine
from vrooli_core.execution.tools import tool
from vrooli_core.plugins import PluginHost
from vrooli_core.testing.hosts import flow_plugin

#: The workers' lease length (seconds): another worker takes a killed one's run over this long after
#: its last renewal.
LEASE = 0.3
#: Where effects found already done are noted (a file each): evidence that a kill landed after a
#: step's effect and before its completion was recorded.
REPLAYS = "replays"
_PENDING = "pending"


def effect_tool(directory: Path) -> Any:
    """The ``effect`` tool, recording its effects in ``directory``.

    An effect is written under a private name and then hard-linked to its key's name: ``link`` is
    atomic and fails when the name exists, so whatever instruction a SIGKILL interrupts, the key's
    file is absent or complete, and never made twice (a private file left behind is not an effect).
    No fsync: the test kills processes, not the machine, and the page cache outlives a process.
    """
    pending = directory / _PENDING
    replays = directory / REPLAYS
    for d in (directory, pending, replays):
        d.mkdir(parents=True, exist_ok=True)

    def replayed(key: str) -> None:
        (replays / f"{key}@{uuid.uuid4().hex[:8]}").touch()

    @tool(side_effects=True)
    async def effect(value: int, n: int, ctx: Any) -> int:
        """Record that the step ran (once per idempotency key); return the next value of its chain."""
        await anyio.sleep(0.001)
        key = ctx.idempotency_key
        final = directory / key
        if final.exists():
            replayed(key)
        else:
            private = pending / f"{key}@{os.getpid()}.{uuid.uuid4().hex[:8]}"
            private.write_text(ctx.step.id)
            try:
                os.link(private, final)
            except FileExistsError:
                replayed(key)
            private.unlink()
        await anyio.sleep(0.002)  # kills land between the effect and the step's completion too
        return (value * 31 + n) % 1_000_000_007

    return effect


def make_host() -> PluginHost:
    """The installed plugins (vrooli-sqlalchemy among them) and the flow test navigator."""
    host = PluginHost.create(load_entrypoints=True)
    host.register(flow_plugin(), "flow")
    return host


async def work(url: str, effects: Path, host: PluginHost) -> None:
    async with Engine.open(url, host=host, tools=[effect_tool(effects)], lease=LEASE) as engine:
        async with anyio.create_task_group() as tg:
            stop = await tg.start(_stop_on_signal)
            _say(f"ready {os.getpid()}")  # and SIGTERM stops it cleanly from here on
            await engine.work(concurrency=4, poll=0.02, stop=stop)
            tg.cancel_scope.cancel()


async def _stop_on_signal(*, task_status: anyio.abc.TaskStatus[anyio.Event]) -> None:
    stop = anyio.Event()
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        task_status.started(stop)
        async for _ in signals:
            stop.set()
            return


def _say(line: str) -> None:
    # One write per line: the fork server and its workers share stdout, and a write this short to a
    # pipe is never interleaved with another.
    os.write(1, f"{line}\n".encode())


def fork_server(url: str, effects: Path) -> None:
    host = make_host()
    _warm_up(host, url, effects)
    _say("standby")
    children: set[int] = set()
    selector = selectors.DefaultSelector()
    selector.register(0, selectors.EVENT_READ)
    pending = b""
    try:
        while True:
            if selector.select(timeout=0.005):
                data = os.read(0, 4096)
                if not data:
                    return
                pending += data
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    command, _, log = line.decode().partition(" ")
                    if command == "fork":
                        pid = os.fork()
                        if pid == 0:
                            selector.close()
                            _child(url, effects, host, log)
                        children.add(pid)
                        _say(f"started {pid}")
            while children:
                pid, status = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
                children.discard(pid)
                _say(f"exited {pid} {os.waitstatus_to_exitcode(status)}")
    finally:
        for pid in children:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def _warm_up(host: PluginHost, url: str, effects: Path) -> None:
    """Import and load, before forking, what every worker needs: SQLAlchemy, alembic and the
    migration scripts, the database driver, the plugins' navigators, and what checks a tool's
    arguments (jsonschema)."""
    import vrooli_sqlalchemy.store  # noqa: F401
    from vrooli_sqlalchemy import migrate

    if url.startswith("postgresql"):
        import psycopg  # noqa: F401
    migrate.head()
    host.navigators()
    effect_tool(effects).__vrooli_tool__.validate({"value": 0, "n": 0})


def _child(url: str, effects: Path, host: PluginHost, log: str) -> None:
    code = 0
    try:
        fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(fd, 2)
        os.close(fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        anyio.run(work, url, effects, host)
    except BaseException:  # the worker's end, whatever it is, is reported in its log and exit code
        traceback.print_exc()
        code = 1
    finally:
        sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    if "--forks" in sys.argv[3:]:
        fork_server(sys.argv[1], Path(sys.argv[2]))
    else:
        anyio.run(work, sys.argv[1], Path(sys.argv[2]), make_host())
