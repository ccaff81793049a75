"""The opt-in pytest plugin, checked in real pytest runs of a small plugin project."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

PROJECT_TESTS = '''
import pytest
import vrooli_core.storage.memory as memory
from vrooli_core import Engine, tool
from vrooli_core.model import RoutineSource, RunStatus
from vrooli_core.testing.hosts import CapabilityPlugin

SEEN = []


@tool
def hello(name: str = "Ada") -> dict:
    return {"greeting": f"Hello, {name}!"}


FLOW = """
id = "hello"
start = "greet"
[steps.greet]
kind = "tool"
tool = "hello"
next = "later"
[steps.later]
wait = {timer = 60}
"""


@pytest.mark.anyio
async def test_engine_with_the_fixtures(vrooli_host, registered_plugin, fake_clock, memory_store_url, anyio_backend):
    assert anyio_backend == "asyncio"
    SEEN.append(memory_store_url.split("//")[1].split("?")[0])
    with registered_plugin(vrooli_host, CapabilityPlugin(tools=[hello]), "hello"):
        async with Engine.open(memory_store_url, host=vrooli_host, clock=fake_clock) as engine:
            run = await engine.run(RoutineSource(FLOW, "hello.flow.toml"))
            assert run.status is RunStatus.WAITING
            await engine.advance_clock(61)
            run = await engine.get_run(run.id)
    assert run.status is RunStatus.COMPLETED and run.outputs["greeting"] == "Hello, Ada!"
    assert "hello" not in vrooli_host.tools()
    assert SEEN[0] in memory._SHARED


def test_store_was_forgotten_and_urls_differ(memory_store_url):
    assert SEEN and SEEN[0] not in memory._SHARED
    assert SEEN[0] not in memory_store_url
'''


def run_pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, str(folder)],
        capture_output=True,
        text=True,
        cwd=folder,
        timeout=120,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "test_project.py").write_text(textwrap.dedent(PROJECT_TESTS))
    return tmp_path


def test_enabled_with_dash_p(project: Path) -> None:
    proc = run_pytest(project, "-p", "vrooli_core.testing.pytest_plugin")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout


def test_enabled_with_pytest_plugins_in_conftest(project: Path) -> None:
    (project / "conftest.py").write_text('pytest_plugins = ["vrooli_core.testing.pytest_plugin"]\n')
    proc = run_pytest(project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout


def test_not_active_unless_asked_for(project: Path) -> None:
    proc = run_pytest(project)
    assert proc.returncode != 0
    assert "fixture 'vrooli_host' not found" in proc.stdout or "fixture 'memory_store_url' not found" in proc.stdout, (
        proc.stdout
    )


def test_no_pytest11_entry_point() -> None:
    """Installing vrooli-core must not activate the plugin in every project's pytest."""
    ours = [ep for ep in metadata.entry_points(group="pytest11") if ep.value.startswith("vrooli")]
    assert ours == []
    dist = metadata.distribution("vrooli-core")
    assert not [ep for ep in dist.entry_points if ep.group == "pytest11"]
