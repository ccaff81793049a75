"""Fixtures for the CLI tests: a named in-process store, the flow navigator as a plugin, fake
installed distributions (one of them broken), and a runner that invokes ``vrooli``."""

from __future__ import annotations

import json
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import click.testing
import pytest

from vrooli_core.cli import _common, main
from vrooli_core.execution.safety import (
    ALLOW,
    RequireApproval,
    SafetyCheck,
    SafetyPoint,
    SafetyRequest,
    SafetyResult,
)
from vrooli_core.plugins import PluginHost, hookimpl
from vrooli_core.storage.memory import MemoryStorage
from vrooli_core.testing.flow import FlowNavigator


def greet(name: str) -> str:
    """Say hello."""
    return f"hello {name}"


def explode(reason: str) -> None:
    """Always fails."""
    raise ValueError(f"exploded: {reason}")


class ApprovalCheck(SafetyCheck):
    """Asks a person before a step whose config says ``approval = true``."""

    name: ClassVar[str] = "cli-approval"
    points: ClassVar[frozenset[SafetyPoint]] = frozenset({SafetyPoint.BEFORE_STEP})

    async def check(self, request: SafetyRequest) -> SafetyResult:
        if request.step is not None and request.step.config.get("approval"):
            return RequireApproval("this step needs a person's approval")
        return ALLOW


class FlowTestPlugin:
    """Registers the flow navigator, a few tools and an approval check (no entry point provides
    them yet)."""

    @hookimpl
    def vrooli_register_safety_checks(self) -> Iterable[type]:
        return [ApprovalCheck]

    @hookimpl
    def vrooli_register_navigators(self) -> Iterable[type]:
        return [FlowNavigator]

    @hookimpl
    def vrooli_register_tools(self) -> Iterable[Any]:
        return [greet, explode]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The developer's environment and project config must not leak into the tests.
    for var in ("VROOLI_STORE", "VROOLI_CONFIG", "VROOLI_LOAD_PLUGINS", "VROOLI_DISABLE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    # Nor the plugins that happen to be installed: no entry point loads unless a test says so.
    monkeypatch.setenv("VROOLI_LOAD_PLUGINS", "")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def flow_host(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every host the CLI builds also has the flow navigator and the test tools."""
    original = _common.make_host

    def make_host(strict: bool, config: Any = None) -> PluginHost:
        host = original(strict, config)
        host.register(FlowTestPlugin(), name="flowtest")
        return host

    monkeypatch.setattr(_common, "make_host", make_host)


@pytest.fixture
def store() -> Iterator[str]:
    """A memory store shared by every CLI invocation of this test (same process)."""
    name = f"cli-{uuid.uuid4().hex}"
    yield f"memory://{name}?verify=1"
    MemoryStorage.forget(name)


Invoke = Callable[..., click.testing.Result]


@pytest.fixture
def invoke(store: str, flow_host: None) -> Invoke:
    """Run ``vrooli --store <store> ARGS``."""

    def run(*args: str) -> click.testing.Result:
        return click.testing.CliRunner().invoke(main, ["--store", store, *args])

    return run


@pytest.fixture
def out_json() -> Callable[[click.testing.Result], Any]:
    """The JSON a command printed on stdout (and no traceback anywhere)."""

    def parse(result: click.testing.Result) -> Any:
        assert "Traceback" not in result.output, result.output
        return json.loads(result.stdout)

    return parse


@pytest.fixture
def write_flow(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


def _dist(root: Path, dist: str, version: str, module: str, ep_name: str, code: str) -> None:
    (root / module).mkdir()
    (root / module / "__init__.py").write_text(textwrap.dedent(code))
    info = root / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[vrooli]\n{ep_name} = {module}\n")


@pytest.fixture
def fake_dists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Two installed distributions with ``vrooli`` entry points: ``hello`` (a working plugin with a
    tool) and ``broken`` (raises when imported)."""
    root = tmp_path / "site"
    root.mkdir()
    _dist(
        root,
        "vrooli-hello",
        "1.2.3",
        "vrooli_clitest_hello",
        "hello",
        """
        from vrooli_core.plugins import hookimpl

        def wave(to: str) -> str:
            return "wave " + to

        @hookimpl
        def vrooli_register_tools():
            return [wave]
        """,
    )
    _dist(
        root, "vrooli-broken", "0.3.0", "vrooli_clitest_broken", "broken", "raise RuntimeError('boom: cannot start')\n"
    )
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("VROOLI_LOAD_PLUGINS", "hello,broken")
    yield root
    for mod in ("vrooli_clitest_hello", "vrooli_clitest_broken"):
        sys.modules.pop(mod, None)
