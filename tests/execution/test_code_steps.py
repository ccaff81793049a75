"""Code steps: Python source run in a sandboxed child process (limits, clean env, temp cwd, network)."""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from vrooli_core import Engine
from vrooli_core.execution.code import CodeStrategy, SandboxReport
from vrooli_core.execution.sandbox import Limits, SandboxResult, run_code
from vrooli_core.model import OutcomeStatus, RoutineSource, RunStatus, StepKind

pytestmark = pytest.mark.anyio

posix_only = pytest.mark.skipif(os.name != "posix", reason="setrlimit limits and process groups are POSIX only")


def flow(text: str) -> RoutineSource:
    return RoutineSource(text, "code.flow.toml")


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running process (a zombie nobody reaped yet counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return not sys.platform.startswith("linux")


async def run(source: str, inputs: Any = None, **options: Any) -> SandboxResult:
    return await run_code(source, {} if inputs is None else inputs, filename="<step s>", **options)


PIDS = """
import os, json
def note(path, **values):
    with open(path, "w") as f:
        json.dump(values, f)
"""


# -- results and failures ------------------------------------------------------------------------


async def test_main_computes_from_its_inputs_and_prints_do_not_break_the_protocol() -> None:
    source = 'def main(inputs):\n    print(\'{"ok": "forged"}\')\n    return {"total": sum(inputs["xs"])}\n'
    result = await run(source, {"xs": [1, 2, 3]})
    assert result.ok, result.message
    assert result.output == {"total": 6}
    assert '{"ok": "forged"}' in result.log


async def test_a_raising_main_reports_type_message_and_the_users_line() -> None:
    source = "def main(inputs):\n    x = inputs['n']\n    return x / 0\n"
    result = await run(source, {"n": 1})
    assert result.error == "code_error"
    assert "ZeroDivisionError: division by zero at line 3" in result.message
    assert result.details["line"] == 3
    assert 'File "<step s>", line 3, in main' in result.details["traceback"]
    assert "return x / 0" in result.details["traceback"]


async def test_missing_main_and_syntax_errors_are_invalid_code() -> None:
    missing = await run("result = 1\n")
    assert (missing.error, missing.message) == ("invalid_code", "the code defines no main(inputs) function")
    broken = await run("def main(inputs):\n    return (\n")
    assert broken.error == "invalid_code" and broken.details["line"] == 2


async def test_output_that_is_not_json_is_invalid_output() -> None:
    for value in ("{1, 2}", "float('nan')", "object()"):
        result = await run(f"def main(inputs):\n    return {value}\n")
        assert result.error == "invalid_output", value
        assert "not JSON" in result.message


# -- limits and killing -------------------------------------------------------------------------


@posix_only
async def test_an_infinite_loop_hits_the_cpu_limit_and_the_child_is_gone(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids.json"
    source = PIDS + "def main(inputs):\n    note(inputs['pidfile'], child=os.getpid())\n    while True:\n        pass\n"
    result = await run(source, {"pidfile": str(pidfile)}, limits=Limits(cpu_seconds=1, wall_seconds=8))
    assert result.error == "cpu_limit", result.message
    assert "RLIMIT_CPU" in result.isolation.limits
    assert not alive(json.loads(pidfile.read_text())["child"])


@posix_only
async def test_the_wall_limit_kills_the_child_and_what_it_started(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids.json"
    source = PIDS + (
        "import subprocess, sys, time\n"
        "def main(inputs):\n"
        "    grandchild = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "    note(inputs['pidfile'], child=os.getpid(), grandchild=grandchild.pid)\n"
        "    time.sleep(60)\n"
    )
    with anyio.fail_after(5):
        result = await run(source, {"pidfile": str(pidfile)}, limits=Limits(wall_seconds=1))
    assert result.error == "wall_limit", result.message
    pids = json.loads(pidfile.read_text())
    with anyio.fail_after(2):
        while alive(pids["grandchild"]):  # killed at once; init may take a moment to reap it
            await anyio.sleep(0.02)
    assert not alive(pids["child"])


@posix_only
async def test_a_memory_hog_hits_the_memory_limit() -> None:
    source = "def main(inputs):\n    hog = []\n    while True:\n        hog.append(bytearray(2**20))\n"
    result = await run(source, limits=Limits(memory_mb=128))
    assert result.error == "memory_limit", result.message
    assert "128 MiB" in result.message and "RLIMIT_AS" in result.isolation.limits


@posix_only
async def test_cancelling_the_caller_kills_the_child_and_removes_its_directory(tmp_path: Path) -> None:
    pidfile = tmp_path / "pids.json"
    source = PIDS + "import time\ndef main(inputs):\n    note(inputs['pidfile'], child=os.getpid(), cwd=os.getcwd())\n    time.sleep(60)\n"
    async with anyio.create_task_group() as tg:
        tg.start_soon(run, source, {"pidfile": str(pidfile)})
        with anyio.fail_after(5):
            while not pidfile.exists() or not pidfile.read_text():
                await anyio.sleep(0.02)
        tg.cancel_scope.cancel()
    noted = json.loads(pidfile.read_text())
    assert not alive(noted["child"])
    assert not Path(noted["cwd"]).exists()


# -- environment, working directory, network ----------------------------------------------------


async def test_the_environment_is_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VROOLI_SANDBOX_MARKER", "secret")
    result = await run("import os\ndef main(inputs):\n    return dict(os.environ)\n")
    assert result.ok, result.message
    assert "VROOLI_SANDBOX_MARKER" not in result.output
    assert set(result.output) <= {"PATH", "LANG", "HOME", "TMPDIR", "TEMP", "TMP", "SYSTEMROOT", "SYSTEMDRIVE", "LC_CTYPE"}


async def test_the_cwd_is_a_fresh_temporary_directory_removed_afterwards() -> None:
    source = "import os\ndef main(inputs):\n    open('scratch.txt', 'w').write('x')\n    return [os.getcwd(), os.listdir('.')]\n"
    first, second = await run(source), await run(source)
    assert first.ok and second.ok
    (cwd, listed), (other, _) = first.output, second.output
    assert listed == ["scratch.txt"]  # nothing was there before the code
    assert Path(cwd).name.startswith("vrooli-code-") and cwd != other and cwd != os.getcwd()
    assert not Path(cwd).exists() and not Path(other).exists()


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP server on loopback that accepts connections (into its backlog); yields its port."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


CONNECT = "import socket\ndef main(inputs):\n    socket.create_connection(('127.0.0.1', inputs['port']), timeout=3).close()\n    return 'connected'\n"


async def test_the_network_is_cut_where_the_os_allows_it(listener: int) -> None:
    result = await run(CONNECT, {"port": listener})
    if not result.isolation.network_cut:
        pytest.skip(f"unshare(CLONE_NEWNET) is not permitted here, so the network is not cut: {result.isolation.network}")
    assert result.error == "network_denied", result.message
    assert "Network is unreachable" in result.message and "line 3" in result.message


async def test_the_network_when_allowed_is_reachable_and_reported_as_not_cut(listener: int) -> None:
    result = await run(CONNECT, {"port": listener}, network="allow")
    assert result.output == "connected", result.message
    assert not result.isolation.network_cut and "allows the network" in result.isolation.network


# -- through the engine -------------------------------------------------------------------------

ROUTINE = """
id = "code"
start = "total"
outputs = {type = "object", properties = {total = {type = "integer"}, shouted = {type = "string"}}}
[steps.total]
kind = "code"
in = {xs = "xs"}
out = {total = "sum"}
next = "shout"
code = '''
def main(inputs):
    return {"sum": sum(inputs["xs"])}
'''
[steps.shout]
kind = "code"
in = {text = "text"}
out = {shouted = ""}
limits = {cpu_seconds = 2, wall_seconds = 5}
code = '''
def main(inputs):
    return inputs["text"].upper()
'''
"""


async def test_a_flow_runs_code_steps_end_to_end(host, store) -> None:
    assert host.strategies()["code"] is CodeStrategy and StepKind.CODE in CodeStrategy.kinds
    reports: list[SandboxReport] = []
    async with Engine.open(store, host=host) as engine:
        engine.subscribe(lambda e: reports.append(e.payload), types=["step.sandbox"])
        run = await engine.run(flow(ROUTINE), {"xs": [1, 2, 3], "text": "hi"})
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.outputs == {"total": 6, "shouted": "HI"}
    assert [r.step for r in reports] == ["total", "shout"] and all(r.error is None for r in reports)


FAILING = """
id = "failing"
start = "boom"
[steps.boom]
kind = "code"
code = '''
def main(inputs):
    items = []
    return items[3]
'''
"""


async def test_a_failing_code_step_fails_the_run_naming_the_step_and_line(host, store) -> None:
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(FAILING))
        events = await engine.history(run.id)
    assert run.status is RunStatus.FAILED
    assert run.error is not None and (run.error.code, run.error.element) == ("code_error", "boom")
    assert run.error.message.startswith("code step 'boom': the code raised IndexError: list index out of range at line 3")
    [done] = [e.payload for e in events if e.type == "step.completed"]
    outcome = done.outcome
    assert outcome.status is OutcomeStatus.FAILED and outcome.error.details["line"] == 3
    assert outcome.error.type == "IndexError" and "network_cut" in outcome.error.details["sandbox"]
    assert [e.type for e in events][-1] == "run.failed"


async def test_a_misconfigured_code_step_fails_naming_the_step(host, store) -> None:
    text = FAILING.replace("kind = \"code\"", "kind = \"code\"\nlimits = {cpu = 1}")
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(text))
    assert run.status is RunStatus.FAILED
    assert run.error.code == "invalid_config" and run.error.element == "boom"
    assert "code step 'boom': invalid limits: unknown limit(s) 'cpu'" in run.error.message


async def test_the_isolation_of_every_code_step_is_stored_in_the_history(host, store) -> None:
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(ROUTINE), {"xs": [1], "text": "a"})
        stored = [e.payload for e in await engine.history(run.id) if e.type == "step.sandbox"]
    assert run.status is RunStatus.COMPLETED
    assert [r.step for r in stored] == ["total", "shout"]
    assert all(isinstance(r.network_cut, bool) and r.network and r.error is None for r in stored)
