"""``vrooli runs …`` and ``vrooli tasks …``: state shared across invocations through a named store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click.testing
import pytest
from _clitypes import Invoke, OutJson, StartRun, WriteFlow

from vrooli_core.cli import main
from vrooli_core.cli._common import MEMORY_HINT
from vrooli_core.cli._lazy import CliError
from vrooli_core.cli.tasks import build_answer
from vrooli_core.model import Wait, WaitKind, WaitSpec

REVIEW = """
id = "review"
start = "draft"

[steps.draft]
kind = "tool"
tool = "greet"
args = {name = "draft"}
out = {draft = ""}
next = "review"

[steps.review]
kind = "human"
title = "Review the draft"
out = {review = ""}
next = "publish"

[steps.publish]
"""

REVIEW_THEN_FAIL = """
start = "review"

[steps.review]
kind = "human"
next = "boom"

[steps.boom]
kind = "tool"
tool = "explode"
args = {reason = "after review"}
"""

TWO_PEOPLE = """
start = "split"

[steps.split]
next = ["left", "right"]

[steps.left]
kind = "human"
next = "join"

[steps.right]
kind = "human"
next = "join"

[steps.join]
join = 2
"""

GUARDED = """
start = "send"

[steps.send]
kind = "tool"
tool = "greet"
args = {name = "approver"}
config = {approval = true}
out = {sent = ""}
"""

CHOICE = """
start = "decide"

[steps.decide]
title = "Which way?"
ask = true
choose = [{if = "true", next = "left"}, {else = "right"}]

[steps.left]

[steps.right]
"""


@pytest.fixture
def start_run(invoke: Invoke, write_flow: WriteFlow, out_json: OutJson) -> StartRun:
    """Run a flow and return the JSON report (the run must not fail)."""

    def start(text: str, name: str = "r.flow.toml") -> dict[str, Any]:
        result = invoke("run", str(write_flow(name, text)), "--json")
        assert result.exit_code == 0, result.output
        report: dict[str, Any] = out_json(result)
        return report

    return start


def test_human_task_round_trip(invoke: Invoke, start_run: StartRun, out_json: OutJson) -> None:
    started = start_run(REVIEW)
    run_id = started["run"]["id"]
    assert started["run"]["status"] == "waiting"
    [task] = started["tasks"]
    assert task["kind"] == "human"
    assert task["title"] == "Review the draft"
    assert task["complete"].startswith(f"vrooli tasks complete {task['id']} --output")

    listed = out_json(invoke("tasks", "list", "--json"))
    assert [(t["id"], t["run_id"]) for t in listed] == [(task["id"], run_id)]

    done = invoke("tasks", "complete", task["id"][:10], "--output", "ok=true", "--output", "note=looks fine", "--json")
    assert done.exit_code == 0, done.output
    report = out_json(done)
    assert report["run"]["status"] == "completed"
    assert report["run"]["outputs"]["review"] == {"ok": True, "note": "looks fine"}
    assert report["run"]["outputs"]["draft"] == "hello draft"
    assert report["tasks"] == []

    shown = invoke("runs", "show", run_id[:6], "--events", "--json")
    assert shown.exit_code == 0, shown.output
    data = out_json(shown)
    assert data["run"]["id"] == run_id
    assert data["run"]["status"] == "completed"
    types = [e["type"] for e in data["events"]]
    assert types[0] == "run.created"
    assert types[-1] == "run.completed"
    assert "wait.resolved" in types
    assert [e["seq"] for e in data["events"]] == list(range(1, len(types) + 1))
    assert out_json(invoke("tasks", "list", "--json")) == []


def test_human_output_of_show_and_lists(invoke: Invoke, start_run: StartRun) -> None:
    run_id = start_run(REVIEW)["run"]["id"]
    shown = invoke("runs", "show", run_id, "--events")
    assert shown.exit_code == 0, shown.output
    assert "waiting" in shown.stdout
    assert "Review the draft" in shown.stdout
    assert "run.created" in shown.stdout
    listed = invoke("runs", "list")
    assert run_id in listed.stdout
    tasks = invoke("tasks", "list")
    assert f"vrooli tasks complete {run_id}-" in tasks.stdout


def test_memory_store_hint_goes_to_stderr(flow_host: None) -> None:
    runner = click.testing.CliRunner()
    for args in (["runs", "list"], ["tasks", "list"], ["runs", "list", "--json"]):
        result = runner.invoke(main, ["--store", "memory://", *args])
        assert result.exit_code == 0, result.output
        assert MEMORY_HINT in result.stderr
        assert MEMORY_HINT not in result.stdout
    assert runner.invoke(main, ["--store", "memory://", "runs", "list", "--json"]).stdout.strip() == "[]"


def test_runs_list_filters_and_limits(
    invoke: Invoke, start_run: StartRun, write_flow: WriteFlow, out_json: OutJson
) -> None:
    waiting = start_run(REVIEW)["run"]["id"]
    failed = invoke(
        "run",
        str(write_flow("f.flow.toml", '[steps.x]\nkind = "tool"\ntool = "explode"\nargs = {reason = "r"}\n')),
        "--json",
    )
    assert failed.exit_code == 1
    failed_id = out_json(failed)["run"]["id"]
    assert [r["id"] for r in out_json(invoke("runs", "list", "--status", "failed", "--json"))] == [failed_id]
    both = out_json(invoke("runs", "list", "--status", "failed", "--status", "waiting", "--json"))
    assert {r["id"] for r in both} == {waiting, failed_id}
    assert len(out_json(invoke("runs", "list", "--limit", "1", "--json"))) == 1
    bad = invoke("runs", "list", "--status", "sleeping")
    assert bad.exit_code == 2


def test_unknown_run_is_a_clear_error(invoke: Invoke) -> None:
    result = invoke("runs", "show", "zzz")
    assert result.exit_code == 2
    assert "error: no run matches 'zzz'" in result.stderr
    assert "Traceback" not in result.output


def test_ambiguous_task_prefix_is_a_clear_error(invoke: Invoke, start_run: StartRun, out_json: OutJson) -> None:
    started = start_run(TWO_PEOPLE)
    run_id = started["run"]["id"]
    assert len(started["tasks"]) == 2
    assert len(out_json(invoke("tasks", "list", "--run", run_id[:8], "--json"))) == 2
    result = invoke("tasks", "complete", run_id)
    assert result.exit_code == 2
    assert "is ambiguous: it matches 2" in result.stderr
    assert "Traceback" not in result.output
    unknown = invoke("tasks", "complete", "nope")
    assert unknown.exit_code == 2
    assert "no open task matches 'nope'" in unknown.stderr


def test_path_choice_task(invoke: Invoke, start_run: StartRun, tmp_path: Path, out_json: OutJson) -> None:
    (tmp_path / "vrooli.toml").write_text('path_policy = "manual"\n')
    started = start_run(CHOICE)
    [task] = started["tasks"]
    assert task["kind"] == "choice"
    assert task["options"] == ["left", "right"]

    missing = invoke("tasks", "complete", task["id"])
    assert missing.exit_code == 2
    assert "is a path choice: pass --choice left|right" in missing.stderr
    wrong = invoke("tasks", "complete", task["id"], "--choice", "up")
    assert wrong.exit_code == 2
    assert "'up' is not one of left, right" in wrong.stderr

    done = invoke("tasks", "complete", task["id"], "--choice", "right", "--json")
    assert done.exit_code == 0, done.output
    assert out_json(done)["run"]["status"] == "completed"
    events = out_json(invoke("runs", "show", started["run"]["id"], "--events", "--json"))["events"]
    entered = [e["data"]["step"] for e in events if e["type"] == "step.completed"]
    assert "right" in entered and "left" not in entered


def test_approve_and_reject_answers(invoke: Invoke, start_run: StartRun, out_json: OutJson) -> None:
    first = start_run(REVIEW)["tasks"][0]["id"]
    approved = out_json(invoke("tasks", "complete", first, "--approve", "--json"))
    assert approved["run"]["outputs"]["review"] == {"approved": True}
    second = start_run(REVIEW)["tasks"][0]["id"]
    rejected = out_json(invoke("tasks", "complete", second, "--reject", "-o", "why=typos", "--json"))
    assert rejected["run"]["outputs"]["review"] == {"why": "typos", "approved": False}


def test_approval_tasks_from_a_safety_check(invoke: Invoke, start_run: StartRun, out_json: OutJson) -> None:
    [task] = start_run(GUARDED)["tasks"]
    assert task["kind"] == "approval"
    assert task["options"] == ["approve", "reject"]
    assert task["complete"] == f"vrooli tasks complete {task['id']} --approve  (or --reject)"
    approved = invoke("tasks", "complete", task["id"], "--approve", "--json")
    assert approved.exit_code == 0, approved.output
    assert out_json(approved)["run"]["outputs"]["sent"] == "hello approver"

    [task] = start_run(GUARDED)["tasks"]
    rejected = invoke("tasks", "complete", task["id"], "--reject", "--json")
    assert rejected.exit_code == 1, rejected.output
    assert out_json(rejected)["run"]["error"]["code"] == "approval_rejected"


def test_completing_a_task_that_makes_the_run_fail_exits_1(
    invoke: Invoke, start_run: StartRun, out_json: OutJson
) -> None:
    task_id = start_run(REVIEW_THEN_FAIL)["tasks"][0]["id"]
    result = invoke("tasks", "complete", task_id, "--json")
    assert result.exit_code == 1, result.output
    assert "after review" in out_json(result)["run"]["error"]["message"]


def test_cancel_then_resume(invoke: Invoke, start_run: StartRun, out_json: OutJson) -> None:
    run_id = start_run(REVIEW)["run"]["id"]
    resumed = invoke("runs", "resume", run_id, "--json")
    assert resumed.exit_code == 0, resumed.output
    assert out_json(resumed)["run"]["status"] == "waiting"

    cancelled = invoke("runs", "cancel", run_id[:5], "--reason", "not needed", "--json")
    assert cancelled.exit_code == 0, cancelled.output
    assert out_json(cancelled)["run"]["status"] == "cancelled"
    events = out_json(invoke("runs", "show", run_id, "--events", "--json"))["events"]
    assert events[-1]["type"] == "run.cancelled"
    assert events[-1]["data"]["reason"] == "not needed"

    again = invoke("runs", "resume", run_id)
    assert again.exit_code == 2
    assert "cannot resume a cancelled run" in again.stderr
    assert out_json(invoke("tasks", "list", "--json")) == []


def _task(kind: WaitKind = WaitKind.HUMAN, options: tuple[str, ...] = ()) -> Wait:
    return Wait("r-w1", "r", "t1", WaitSpec(kind, name="t", options=options))


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, None),
        ({"fields": {"a": 1}}, {"a": 1}),
        ({"given": [1, 2], "has_json": True}, [1, 2]),
        ({"given": {"a": 1}, "has_json": True, "fields": {"b": 2}}, {"a": 1, "b": 2}),
        ({"choice": "x"}, "x"),
        ({"choice": "x", "fields": {"a": 1}}, {"a": 1, "choice": "x"}),
        ({"approve": False}, {"approved": False}),
    ],
)
def test_build_answer(kwargs: dict[str, Any], expected: object) -> None:
    args = {"fields": {}, "given": None, "has_json": False, "choice": None, "approve": None, **kwargs}
    assert build_answer(_task(), **args) == expected


def test_build_answer_refuses_mixing_a_non_object_with_fields() -> None:
    with pytest.raises(click.BadParameter):
        build_answer(_task(), {"a": 1}, "text", True, None, None)
    with pytest.raises(CliError, match="not one of a, b"):
        build_answer(_task(options=("a", "b")), {}, None, False, "c", None)
