"""Crash safety: workers killed with SIGKILL at many points of a long run lose nothing and repeat
nothing.

A client engine (``move_runs=False``) starts a run of 200 tool steps (a first step, four parallel
chains, a join, a human task, a tail). Worker processes (``crash_worker.py``) move it, one at a
time, and each is killed with SIGKILL: while it starts, about when it claims the run, at a position
of the run's event log drawn at random (give or take a few milliseconds, so most kills land inside
a step), while the run waits on the human task, and right after the task is answered; at 30 or
more different positions in all. A last worker finishes the run. Then: every step is recorded
completed exactly once, the log has no gaps, every tool's side effect happened exactly once (a
step in flight at a kill is executed again with the same idempotency key, and the tool skips what
it already did), and the outputs are those of the same run made in-process without kills.

The workers killed are forked from a process that has imported what a worker needs (so the test
spends its time moving the run, not starting Python); the last one is started as a program of its
own. The seed is printed with the kill positions and is part of every assertion message;
``VROOLI_CRASH_SEED`` replays it.

The last test here is a regression test for a bug the crash test found: a store opened a second
time in a process must not drop that process's SQLite locks (until that is fixed, the crash test
reads the run through the client engine's storage, the only store of the test's process).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import IO

import anyio
import anyio.to_thread
import attrs
import pytest
from crash_worker import LEASE, REPLAYS, effect_tool
from vrooli_sqlalchemy import SQLStorage

from vrooli_core import Engine
from vrooli_core.model import Event, RoutineSource, Run, RunStatus, Wait, WaitKind
from vrooli_core.model.events import StepCompleted, StepStarted, StepSuspended, WaitResolved
from vrooli_core.plugins import PluginHost
from vrooli_core.serialization import make_converter

WORKER = Path(__file__).with_name("crash_worker.py")
TOOL_STEPS = 200
BRANCHES = 4
BRANCH_STEPS = 46
TAIL_STEPS = TOOL_STEPS - 1 - BRANCHES * BRANCH_STEPS
#: The run's log: creation and start decision, then per tool step started and completed, the join,
#: the human step started and suspended (the run rests there, on its task), the answer, the tail.
TASK_AT = 2 + 2 * (1 + BRANCHES * BRANCH_STEPS) + 1 + 2
EVENTS = TASK_AT + 1 + 2 * TAIL_STEPS
MIN_POSITIONS = 30
#: Kill positions aimed at before the human task and after it: more than MIN_POSITIONS together, as
#: some kills land where an earlier one did (a worker killed while starting, parked or claiming).
BEFORE_TASK, AFTER_TASK = 34, 7
ANSWER = {"bonus": 7}

Kills = list[tuple[int, str]]  # (events stored after the kill, what the worker was doing)


def crash_routine() -> RoutineSource:
    """The routine, as flow TOML: ``first``; ``b1_01``…``b1_46`` to ``b4_01``…``b4_46`` in four
    parallel chains; ``join``; the human step ``approve``; ``t01``…``t15``. Each chain carries a value
    through its steps (``acc1``…``acc4``, then ``tail``), so a step lost, repeated with another input
    or taken out of order changes the outputs."""
    lines = ['id = "crash"', 'start = "first"']

    def step(sid: str, value: str, out: str, n: int, after: str | list[str] | None) -> None:
        lines.extend(
            [
                f"[steps.{sid}]",
                'kind = "tool"',
                'tool = "effect"',
                f'in = {{value = "{value}"}}',
                f"args = {{n = {n}}}",
                f'out = {{{out} = ""}}',
            ]
        )
        if after is not None:
            lines.append(f"next = {_toml(after)}")

    step("first", "seed", "acc0", 1, [f"b{b}_01" for b in range(1, BRANCHES + 1)])
    for b in range(1, BRANCHES + 1):
        for i in range(1, BRANCH_STEPS + 1):
            after = f"b{b}_{i + 1:02d}" if i < BRANCH_STEPS else "join"
            step(f"b{b}_{i:02d}", "acc0" if i == 1 else f"acc{b}", f"acc{b}", 100 * b + i, after)
    lines.extend(["[steps.join]", f"join = {BRANCHES}", 'next = "approve"'])
    lines.extend(["[steps.approve]", 'kind = "human"', 'title = "Go on?"', 'next = "t01"'])
    for i in range(1, TAIL_STEPS + 1):
        value = "=acc1 + acc2 + acc3 + acc4 + bonus" if i == 1 else "tail"
        step(f"t{i:02d}", value, "tail", 1000 + i, f"t{i + 1:02d}" if i < TAIL_STEPS else None)
    return RoutineSource("\n".join(lines) + "\n", "crash.flow.toml", "flow")


def _toml(value: str | list[str]) -> str:
    return f'"{value}"' if isinstance(value, str) else "[" + ", ".join(f'"{v}"' for v in value) + "]"


def tool_steps() -> set[str]:
    branches = {f"b{b}_{i:02d}" for b in range(1, BRANCHES + 1) for i in range(1, BRANCH_STEPS + 1)}
    return {"first", *branches, *(f"t{i:02d}" for i in range(1, TAIL_STEPS + 1))}


@attrs.frozen
class Seen:
    """The run as storage has it."""

    run: Run
    events: list[Event]
    tasks: list[Wait]

    @property
    def position(self) -> int:
        return len(self.events)


async def look(client: Engine, run_id: str) -> Seen:
    """Read the run from the database: through the client engine's storage, which keeps nothing
    between calls. (Not through a storage opened for the occasion: a second store on a SQLite file
    in one process loses commits, see the last test.)"""
    store = client.storage
    run = await store.get_run(run_id)
    events = await store.read_events(run_id)
    tasks = await store.find_waits(kinds=(WaitKind.HUMAN,), run_id=run_id)
    return Seen(run, events, tasks)


class Workers:
    """``crash_worker.py --forks``: worker processes forked from one that has imported what a worker
    needs, so the time between kills goes into moving the run, not into starting Python."""

    def __init__(self, url: str, effects: Path, logs: Path) -> None:
        self.logs = logs
        self._stderr: IO[str] = (logs / "fork-server.log").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, str(WORKER), url, str(effects), "--forks"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        self._lines: list[str] = []
        self._logs: dict[int, Path] = {}

    async def _expect(self, prefix: str) -> str:
        """The first line (read before, or next) that starts with ``prefix``."""
        assert self.proc.stdout is not None
        while True:
            for line in self._lines:
                if line.startswith(prefix):
                    self._lines.remove(line)
                    return line
            with anyio.fail_after(30):
                raw = await anyio.to_thread.run_sync(self.proc.stdout.readline, abandon_on_cancel=True)
            if not raw:
                raise AssertionError(f"the fork server ended:\n{(self.logs / 'fork-server.log').read_text()}")
            self._lines.append(raw.decode().strip())

    async def start(self) -> int:
        """Fork a worker; returns its pid."""
        if not self._logs:
            await self._expect("standby")
        log = self.logs / f"worker-{len(self._logs) + 1}.log"
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"fork {log}\n".encode())
        self.proc.stdin.flush()
        pid = int((await self._expect("started ")).split()[1])
        self._logs[pid] = log
        return pid

    async def ready(self, pid: int) -> None:
        await self._expect(f"ready {pid}")

    async def kill(self, pid: int) -> None:
        """SIGKILL the worker and wait for its end; it must have been alive (one that ended on its
        own crashed)."""
        os.kill(pid, signal.SIGKILL)
        code = int((await self._expect(f"exited {pid} ")).split()[2])
        assert code == -signal.SIGKILL, f"worker {pid} ended on its own (exit {code}):\n{self._logs[pid].read_text()}"

    async def aclose(self) -> None:
        """End the fork server; it kills the workers still running."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        await anyio.to_thread.run_sync(self.proc.wait, 10)
        self._stderr.close()


async def reference(tmp_path: Path, host: PluginHost, routine: RoutineSource) -> dict[str, object]:
    """The outputs of the run made in-process, without kills."""
    async with Engine.open("memory://", host=host, tools=[effect_tool(tmp_path / "reference-effects")]) as engine:
        run = await engine.run(routine, {"seed": 1})
        assert run.status is RunStatus.WAITING
        (task,) = await engine.tasks(run.id)
        run = await engine.complete_task(task.id, ANSWER)
        assert run.status is RunStatus.COMPLETED
        return dict(run.outputs or {})


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="forks workers and kills them with SIGKILL")
@pytest.mark.anyio
async def test_workers_killed_anywhere_lose_and_repeat_nothing(tmp_path: Path, host: PluginHost, db_url: str) -> None:
    """See the module docstring; about 20 s on SQLite, 25 s on PostgreSQL."""
    seed = int(os.environ.get("VROOLI_CRASH_SEED", random.randrange(1_000_000)))
    rng = random.Random(seed)
    routine = crash_routine()
    url = db_url  # a SQLite file, or a PostgreSQL schema of the test's own
    effects = tmp_path / "effects"
    logs = tmp_path / "logs"
    logs.mkdir()
    kills: Kills = []
    began = time.monotonic()

    def story() -> str:
        return f"seed {seed} (VROOLI_CRASH_SEED); kills at (events stored, when): {kills}"

    workers = Workers(url, effects, logs)  # it gets ready while the run without kills is made
    try:
        expected = await reference(tmp_path, host, routine)
        async with Engine.open(url, host=host, move_runs=False, lease=LEASE) as client:
            run = await client.start(routine, {"seed": 1})
            assert run.status is RunStatus.RUNNING
            await kill_workers(run.id, client, workers, rng, kills)
            print(story())
            seen = await finish(url, run.id, effects, logs, client, story)
    finally:
        await workers.aclose()
    positions = {p for p, _ in kills}
    print(f"{len(kills)} kills at {len(positions)} positions in {time.monotonic() - began:.1f} s")
    assert len(positions) >= MIN_POSITIONS, f"kills at only {len(positions)} positions; {story()}"
    assert {"parked", "answered", "working"} <= {w for _, w in kills}, story()
    check(seen, effects, expected, story())
    async with Engine.open(url, host=host, move_runs=False) as fresh:
        assert await fresh.variables(run.id) == expected, f"variables rebuilt from the log differ; {story()}"


async def kill_workers(run_id: str, client: Engine, workers: Workers, rng: random.Random, kills: Kills) -> None:
    """Start workers one after another and kill each, until the kills have landed at enough
    positions (or the run finished). Each kill is appended to ``kills``."""
    seen = await look(client, run_id)
    last_kill = time.monotonic()
    parked = 0
    while not seen.run.status.finished and not enough(kills):
        pid = await workers.start()
        # The killed worker's lease ends LEASE after its last renewal; this one claims the run
        # at its next look after that.
        free = last_kill + LEASE + 0.02
        if seen.tasks and parked < 3:
            when = "parked"  # the run waits on the human task; the worker looks for work
            await workers.ready(pid)
            await anyio.sleep(rng.uniform(0.0, 0.15))
            parked += 1
        elif seen.tasks:
            when = "answered"  # the task is answered while a worker looks for work
            await workers.ready(pid)
            await anyio.sleep(rng.uniform(0.0, 0.4))
            await client.complete_task(seen.tasks[0].id, ANSWER)
            await anyio.sleep(rng.uniform(0.0, 0.05))
        elif rng.random() < 0.08:
            when = "starting"
            await anyio.sleep(rng.uniform(0.0, 0.06))
        elif rng.random() < 0.05:
            when = "claiming"  # about when it claims the run and loads it
            await anyio.sleep(max(free - time.monotonic(), 0.0) + rng.uniform(0.0, 0.02))
        else:
            when = "working"
            target = aim(kills, seen.position, rng)
            with anyio.move_on_after(5):
                while not await client.storage.read_events(run_id, after=target - 1, limit=1):
                    await anyio.sleep(0.002)
            # The next events follow within milliseconds: land before, inside or after them.
            await anyio.sleep(rng.uniform(0.0, 0.006))
        await workers.kill(pid)
        if when != "starting":  # a worker killed while starting held no lease: it frees nothing
            last_kill = time.monotonic()
        seen = await look(client, run_id)
        kills.append((seen.position, when))


async def finish(url: str, run_id: str, effects: Path, logs: Path, client: Engine, story: Callable[[], str]) -> Seen:
    """Let a last worker finish the run (a process of its own, started as ``vrooli worker`` would
    be), then stop it with SIGTERM: it must exit cleanly."""
    log = logs / "last-worker.log"
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, str(WORKER), url, str(effects)], stdout=subprocess.PIPE, stderr=err)
    try:
        assert proc.stdout is not None
        with anyio.fail_after(30):
            line = await anyio.to_thread.run_sync(proc.stdout.readline, abandon_on_cancel=True)
            assert line.startswith(b"ready"), f"the last worker did not start:\n{log.read_text()}\n{story()}"
            while not (seen := await look(client, run_id)).run.status.finished:
                if seen.tasks:  # the kills ended before the task was answered
                    await client.complete_task(seen.tasks[0].id, ANSWER)
                await anyio.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = await anyio.to_thread.run_sync(proc.wait, 10)
    assert code == 0, f"the last worker did not stop cleanly (exit {code}):\n{log.read_text()}\n{story()}"
    return seen


def aim(kills: Kills, position: int, rng: random.Random) -> int:
    """The position of the log at which to kill a worker that moves the run: a random distance
    ahead, about as far as spreads the kills still wanted over the rest of the run (the part before
    the human task, or the part after it)."""
    positions = {p for p, _ in kills}
    if position < TASK_AT:
        left = max(BEFORE_TASK - sum(p < TASK_AT for p in positions), 1)
        gap = (TASK_AT - position) / left
    else:
        left = max(AFTER_TASK - sum(p > TASK_AT for p in positions), 1)
        gap = (EVENTS - position) / left
    target = position + max(1, round(rng.uniform(0.1, 1.9) * gap))
    return min(target, TASK_AT if position < TASK_AT else EVENTS)  # the run rests at the task


def enough(kills: Kills) -> bool:
    positions = {p for p, _ in kills}
    return len(positions) > MIN_POSITIONS and sum(p > TASK_AT for p in positions) >= AFTER_TASK


def check(seen: Seen, effects: Path, expected: dict[str, object], story: str) -> None:
    assert seen.run.status is RunStatus.COMPLETED, f"{seen.run.status}: {seen.run.error}; {story}"
    events = seen.events
    assert [e.seq for e in events] == list(range(1, len(events) + 1)), f"gaps or repeats in the log; {story}"
    kinds = Counter(type(e.payload) for e in events)
    completed = Counter(e.payload.step for e in events if isinstance(e.payload, StepCompleted))
    assert completed == Counter([*tool_steps(), "join"]), f"steps completed other than once: {_odd(completed)}; {story}"
    started = Counter(e.payload.step for e in events if isinstance(e.payload, StepStarted))
    assert started == Counter([*tool_steps(), "approve"]), f"steps started other than once: {_odd(started)}; {story}"
    assert kinds[StepSuspended] == 1 and kinds[WaitResolved] == 1, f"the human task: {kinds}; {story}"
    done = {p.name: p.read_text() for p in effects.iterdir() if p.is_file()}
    once = Counter(done.values())
    assert once == Counter(tool_steps()), f"effects other than once: {_odd(once)}; {story}"
    for key, step in done.items():
        run_id, _token, key_step, attempt = key.split(":")
        assert (run_id, key_step, attempt) == (seen.run.id, step, "1"), f"effect {key} of {step}; {story}"
    replays = len(list((effects / REPLAYS).iterdir()))
    print(f"{replays} re-executed steps found their effect done and did not repeat it")
    assert dict(seen.run.outputs or {}) == expected, f"outputs differ from a run without kills; {story}"


def _odd(counts: Counter[str]) -> dict[str, int]:
    """The entries of ``counts`` other than 1, and the steps missing from it."""
    wanted = {*tool_steps(), "join", "approve"}
    return (
        {k: v for k, v in counts.items() if v != 1}
        | {k: 0 for k in tool_steps() - set(counts)}
        | {k: v for k, v in counts.items() if k not in wanted}
    )


SHORT = RoutineSource('id = "short"\nstart = "a"\n[steps.a]\n', "short.flow.toml", "flow")


@pytest.mark.anyio
async def test_a_store_opened_again_in_a_process_keeps_the_process_sqlite_locks(
    tmp_path: Path, host: PluginHost
) -> None:
    """Found by the crash test: a process with a store open on a SQLite file opens another store on
    it (the crash test did, to read the run; so does a test with workers in-process). Nothing in the
    second opening may close a file descriptor of the database outside SQLite: that drops every
    POSIX lock the process holds on the file, and another process's connection that closes next
    takes itself for the last one, checkpoints the WAL and deletes it; the first store's next
    commits then go to the deleted file and are lost to every other process."""
    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"
    other = [
        sys.executable,
        "-c",
        f"import sqlite3; c = sqlite3.connect({str(path)!r}); c.execute('SELECT count(*) FROM sqlite_master'); c.close()",
    ]
    async with Engine.open(url, host=host) as engine:
        first = await engine.run(SHORT)
        again = SQLStorage.from_url(url, converter=make_converter())
        await again.open()
        await again.close()
        subprocess.run(other, check=True)  # another process opens the file and closes it
        second = await engine.run(SHORT)
        assert {first.status, second.status} == {RunStatus.COMPLETED}
        count = [
            sys.executable,
            "-c",
            f"import sqlite3; print(sqlite3.connect({str(path)!r}).execute('SELECT count(*) FROM vrooli_runs').fetchone()[0])",
        ]
        seen = subprocess.run(count, check=True, capture_output=True, text=True).stdout.strip()
        assert seen == "2", f"another process sees {seen} runs of 2: the second commit went to a deleted WAL"
