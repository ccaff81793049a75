"""``vrooli run``: end to end with the flow navigator, and every way it can go wrong."""

from __future__ import annotations

import json
from pathlib import Path

import click.testing
import pytest
from _clitypes import Invoke, OutJson, WriteFlow

from vrooli_core.cli import main

HELLO = """
id = "hello"
start = "greet"

[steps.greet]
kind = "tool"
tool = "greet"
in = {name = "who"}
out = {greeting = ""}
next = "done"

[steps.done]
"""

FAILING = """
id = "failing"
start = "boom"

[steps.boom]
kind = "tool"
tool = "explode"
args = {reason = "on purpose"}
"""


def test_run_flow_end_to_end(invoke: Invoke, write_flow: WriteFlow, out_json: OutJson) -> None:
    path = write_flow("hello.flow.toml", HELLO)
    result = invoke("run", str(path), "--input", "who=world", "--json")
    assert result.exit_code == 0, result.output
    data = out_json(result)
    assert data["run"]["status"] == "completed"
    assert data["run"]["outputs"]["greeting"] == "hello world"
    assert data["run"]["routine"] == {"id": "hello", "version": "1", "format": "flow"}
    assert data["run"]["steps"] == 2
    assert data["tasks"] == []


def test_run_prints_a_human_summary(invoke: Invoke, write_flow: WriteFlow) -> None:
    path = write_flow("hello.flow.toml", HELLO)
    result = invoke("run", str(path), "-i", "who=Ada")
    assert result.exit_code == 0, result.output
    assert "completed" in result.stdout
    assert "hello Ada" in result.stdout
    assert "hello v1 (flow)" in result.stdout


def test_input_values_parse_as_json_when_they_are_json(
    invoke: Invoke, write_flow: WriteFlow, out_json: OutJson
) -> None:
    path = write_flow("echo.flow.toml", "[steps.only]\n")
    result = invoke(
        "run",
        str(path),
        "--input",
        "n=3",
        "--input",
        "ok=true",
        "--input",
        "s=plain text",
        "--input",
        'l=[1, "a"]',
        "--json",
    )
    assert result.exit_code == 0, result.output
    assert out_json(result)["run"]["inputs"] == {"n": 3, "ok": True, "s": "plain text", "l": [1, "a"]}


def test_inputs_json_from_a_file_and_overridden_by_input(
    invoke: Invoke, write_flow: WriteFlow, tmp_path: Path, out_json: OutJson
) -> None:
    path = write_flow("hello.flow.toml", HELLO)
    (tmp_path / "in.json").write_text(json.dumps({"who": "file", "extra": 1}))
    result = invoke("run", str(path), "--inputs-json", f"@{tmp_path / 'in.json'}", "--input", "who=flag", "--json")
    assert result.exit_code == 0, result.output
    data = out_json(result)
    assert data["run"]["inputs"] == {"who": "flag", "extra": 1}
    assert data["run"]["outputs"]["greeting"] == "hello flag"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--inputs-json", "{not json"), "invalid JSON"),
        (("--inputs-json", "[1, 2]"), "must be a JSON object"),
        (("--input", "novalue"), "expected key=value"),
    ],
)
def test_bad_inputs_are_usage_errors(
    invoke: Invoke, write_flow: WriteFlow, args: tuple[str, ...], message: str
) -> None:
    path = write_flow("hello.flow.toml", HELLO)
    result = invoke("run", str(path), *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_failing_run_exits_1_with_its_error(invoke: Invoke, write_flow: WriteFlow, out_json: OutJson) -> None:
    path = write_flow("failing.flow.toml", FAILING)
    result = invoke("run", str(path))
    assert result.exit_code == 1, result.output
    assert "failed" in result.stdout
    assert "exploded: on purpose" in result.stdout

    result = invoke("run", str(path), "--json")
    assert result.exit_code == 1
    error = out_json(result)["run"]["error"]
    assert error["element"] == "boom"
    assert "exploded: on purpose" in error["message"]


def test_max_steps_fails_the_run(invoke: Invoke, write_flow: WriteFlow, out_json: OutJson) -> None:
    path = write_flow("hello.flow.toml", HELLO)
    result = invoke("run", str(path), "--input", "who=x", "--max-steps", "1", "--json")
    assert result.exit_code == 1, result.output
    data = out_json(result)
    assert data["run"]["status"] == "failed"
    assert data["run"]["error"]["code"] == "limit_exceeded"
    assert data["run"]["limits"]["max_steps"] == 1


def test_unknown_file_format_exits_2_with_a_clear_message(invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just text")
    result = invoke("run", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert "no installed navigator reads this file" in result.stderr
    assert "notes.txt" in result.stderr
    assert "Traceback" not in result.output


def test_unknown_format_name_exits_2(invoke: Invoke, write_flow: WriteFlow) -> None:
    path = write_flow("hello.flow.toml", HELLO)
    result = invoke("run", str(path), "--format", "nope")
    assert result.exit_code == 2
    assert "error: unknown navigator 'nope' (available: flow, task)" in result.stderr


def test_invalid_flow_exits_2_naming_the_element(invoke: Invoke, write_flow: WriteFlow) -> None:
    path = write_flow("bad.flow.toml", '[steps.first]\nnext = "nowhere"\n')
    result = invoke("run", str(path))
    assert result.exit_code == 2
    assert "element 'first'" in result.stderr
    assert "unknown step 'nowhere'" in result.stderr
    assert "Traceback" not in result.output


def test_missing_file_is_a_usage_error(invoke: Invoke, tmp_path: Path) -> None:
    result = invoke("run", str(tmp_path / "absent.flow.toml"))
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_store_option_after_the_command(store: str, flow_host: None, write_flow: WriteFlow, out_json: OutJson) -> None:
    path = write_flow("hello.flow.toml", HELLO)
    runner = click.testing.CliRunner()
    first = runner.invoke(main, ["run", str(path), "--input", "who=a", "--store", store, "--json"])
    assert first.exit_code == 0, first.output
    listed = runner.invoke(main, ["runs", "list", "--store", store, "--json"])
    assert [r["id"] for r in out_json(listed)] == [out_json(first)["run"]["id"]]


def test_unknown_store_scheme_exits_2(flow_host: None, write_flow: WriteFlow) -> None:
    path = write_flow("hello.flow.toml", HELLO)
    result = click.testing.CliRunner().invoke(main, ["--store", "nosuch://x", "run", str(path)])
    assert result.exit_code == 2
    assert "error: no storage backend for 'nosuch://x'" in result.stderr


def test_store_comes_from_the_environment(
    flow_host: None, write_flow: WriteFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VROOLI_STORE", "fromenv://x")
    path = write_flow("hello.flow.toml", HELLO)
    result = click.testing.CliRunner().invoke(main, ["run", str(path)])
    assert result.exit_code == 2
    assert "'fromenv://x'" in result.stderr


def test_store_comes_from_the_project_config(flow_host: None, write_flow: WriteFlow, tmp_path: Path) -> None:
    (tmp_path / "vrooli.toml").write_text('store = "fromconfig://y"\n')
    path = write_flow("hello.flow.toml", HELLO)
    result = click.testing.CliRunner().invoke(main, ["run", str(path)])
    assert result.exit_code == 2
    assert "'fromconfig://y'" in result.stderr


def test_broken_config_exits_2(flow_host: None, write_flow: WriteFlow, tmp_path: Path) -> None:
    (tmp_path / "vrooli.toml").write_text('colour = "blue"\n')
    path = write_flow("hello.flow.toml", HELLO)
    result = click.testing.CliRunner().invoke(main, ["run", str(path)])
    assert result.exit_code == 2
    assert "unknown setting(s) colour" in result.stderr
