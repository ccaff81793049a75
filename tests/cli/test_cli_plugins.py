"""``vrooli plugins``, ``--version``, ``--strict-plugins``, and what ``--help`` must not import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click.testing
import pytest
from _clitypes import OutJson

from vrooli_core import __version__
from vrooli_core.cli import main


def invoke(*args: str) -> click.testing.Result:
    return click.testing.CliRunner().invoke(main, list(args))


def test_plugins_json_lists_a_broken_plugin_and_succeeds(fake_dists: Path, flow_host: None, out_json: OutJson) -> None:
    result = invoke("plugins", "--json")
    assert result.exit_code == 0, result.output
    plugins = {p["name"]: p for p in out_json(result)}
    assert "builtins" not in plugins
    assert plugins["broken"]["status"] == "failed"
    assert plugins["broken"]["distribution"] == "vrooli-broken"
    assert plugins["broken"]["version"] == "0.3.0"
    assert "RuntimeError: boom: cannot start" in plugins["broken"]["error"]
    assert plugins["hello"] == {
        "name": "hello",
        "status": "loaded",
        "distribution": "vrooli-hello",
        "version": "1.2.3",
        "provides": {"tools": ["wave"]},
        "error": None,
    }
    assert plugins["flowtest"]["provides"] == {
        "navigators": ["flow"],
        "safety_checks": ["cli-approval"],
        "tools": ["explode", "greet"],
    }


def test_plugins_all_includes_the_builtins(out_json: OutJson) -> None:
    result = invoke("plugins", "--all", "--json")
    assert result.exit_code == 0, result.output
    [builtins] = [p for p in out_json(result) if p["name"] == "builtins"]
    assert builtins["status"] == "loaded"
    assert builtins["distribution"] == "vrooli-core"
    assert builtins["version"] == __version__
    assert "memory" in builtins["provides"]["storage_backends"]


def test_plugins_table_shows_the_error(fake_dists: Path) -> None:
    result = invoke("plugins")
    assert result.exit_code == 0, result.output
    assert "vrooli-hello" in result.stdout
    assert "failed" in result.stdout
    assert "broken: RuntimeError: boom: cannot start" in result.stdout
    assert "builtins" not in result.stdout


def test_blocked_plugins_are_listed_as_blocked(
    fake_dists: Path, monkeypatch: pytest.MonkeyPatch, out_json: OutJson
) -> None:
    monkeypatch.setenv("VROOLI_DISABLE_PLUGINS", "broken")
    result = invoke("--strict-plugins", "plugins", "--json")
    assert result.exit_code == 0, result.output
    # Other installed plugins are listed as blocked too (VROOLI_LOAD_PLUGINS names only the fakes).
    statuses = {p["name"]: p["status"] for p in out_json(result)}
    assert {k: v for k, v in statuses.items() if k in ("hello", "broken")} == {"hello": "loaded", "broken": "blocked"}
    assert set(statuses.values()) <= {"loaded", "blocked"}


def test_strict_plugins_makes_a_broken_plugin_fatal(fake_dists: Path) -> None:
    result = invoke("--strict-plugins", "plugins", "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "error: plugin 'broken' failed to load: RuntimeError: boom: cannot start" in result.stderr
    assert "Traceback" not in result.output


def test_engine_commands_warn_about_broken_plugins(fake_dists: Path, flow_host: None, out_json: OutJson) -> None:
    result = invoke("--store", "memory://", "runs", "list", "--json")
    assert result.exit_code == 0, result.output
    assert "warning: plugin 'broken' failed to load" in result.stderr
    assert out_json(result) == []
    strict = invoke("--strict-plugins", "--store", "memory://", "runs", "list")
    assert strict.exit_code == 2
    assert "error: plugin 'broken' failed to load" in strict.stderr


def test_version_lists_plugin_distributions_without_importing_them(fake_dists: Path) -> None:
    result = invoke("--version")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"vrooli-core {__version__}"
    assert "  vrooli-broken 0.3.0" in lines
    assert "  vrooli-hello 1.2.3" in lines
    assert "vrooli_clitest_broken" not in sys.modules
    assert "vrooli_clitest_hello" not in sys.modules


def _python(code: str, extra_path: Path | None = None) -> str:
    env = dict(os.environ)
    if extra_path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(extra_path), env.get("PYTHONPATH")]))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


_CHECK_IMPORTS = """
import sys
from vrooli_core.cli import main
code = main({args!r}, standalone_mode=False)
heavy = ("vrooli_core.engine", "vrooli_core.plugins", "vrooli_core.cli.run", "litellm", "rich",
         "vrooli_clitest_hello", "vrooli_clitest_broken")
print("RESULT", code, sorted(m for m in heavy if m in sys.modules))
"""


def test_help_imports_no_engine_no_plugin_and_no_entry_point(fake_dists: Path) -> None:
    out = _python(_CHECK_IMPORTS.format(args=["--help"]), fake_dists)
    assert "Commands:" in out
    assert "Exit codes:" in out
    for name in ("run", "runs", "tasks", "plugins"):
        assert f"  {name} " in out
    assert out.strip().splitlines()[-1] == "RESULT 0 []"


def test_version_in_a_fresh_process_imports_no_plugin(fake_dists: Path) -> None:
    out = _python(_CHECK_IMPORTS.format(args=["--version"]), fake_dists)
    assert "vrooli-hello 1.2.3" in out
    last = out.strip().splitlines()[-1]
    assert "vrooli_clitest" not in last
    assert "vrooli_core.engine" not in last


def test_subcommand_help_is_lazy_too() -> None:
    out = _python(_CHECK_IMPORTS.format(args=["runs", "--help"]))
    assert "list" in out and "cancel" in out
    assert out.strip().splitlines()[-1] == "RESULT 0 []"
