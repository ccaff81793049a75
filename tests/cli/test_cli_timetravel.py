"""``vrooli runs checkpoints|fork|replay``: time travel from the command line."""

from __future__ import annotations

from typing import Any

import pytest
from _clitypes import Invoke, OutJson, WriteFlow

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
out = {verdict = "verdict"}
next = "route"

[steps.route]
choose = [{if = "verdict == 'ok'", next = "publish"}, {else = "rework"}]

[steps.publish]

[steps.rework]
"""
# 1 run.created, 2 run.decided, 3 step.started draft, 4 step.completed draft, 5 step.started review,
# 6 step.suspended review, 7 wait.resolved, 8 step.completed publish|rework, 9 run.completed


@pytest.fixture
def waiting(invoke: Invoke, write_flow: WriteFlow, out_json: OutJson) -> dict[str, Any]:
    """A run of REVIEW waiting for its review: its JSON report."""
    result = invoke("run", str(write_flow("review.flow.toml", REVIEW)), "--json")
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = out_json(result)
    return report


def test_checkpoints(invoke: Invoke, waiting: dict[str, Any], out_json: OutJson) -> None:
    run_id = waiting["run"]["id"]
    found = out_json(invoke("runs", "checkpoints", run_id[:8], "--json"))
    assert [(c["seq"], c["type"]) for c in found] == [(2, "run.decided"), (4, "step.completed"), (6, "step.suspended")]
    assert found[1]["changed"] == {"draft": "hello draft"}
    assert found[2]["locations"] == ["review"]
    assert found[2]["waiting"] == ["human 'Review the draft'"]

    shown = invoke("runs", "checkpoints", run_id)
    assert shown.exit_code == 0, shown.output
    for words in ("started", "step 'draft'", "completed", "step 'review'", '{"draft": "hello'):
        assert words in shown.stdout


def test_fork_answers_its_own_task(invoke: Invoke, waiting: dict[str, Any], out_json: OutJson) -> None:
    run_id = waiting["run"]["id"]
    result = invoke("runs", "fork", run_id, "--at", "4", "--set", 'draft="rewritten"', "--set", "n=3", "--json")
    assert result.exit_code == 0, result.output
    forked = out_json(result)
    fork_id = forked["run"]["id"]
    assert fork_id != run_id
    assert forked["run"]["status"] == "waiting"
    assert forked["run"]["labels"] == {"forked_from": run_id, "forked_at": "4"}
    [task] = forked["tasks"]
    assert task["run_id"] == fork_id

    done = out_json(invoke("tasks", "complete", task["id"], "--output", "verdict=ok", "--json"))
    assert done["run"]["status"] == "completed"
    assert done["run"]["outputs"] == {"draft": "rewritten", "n": 3, "verdict": "ok"}
    original = out_json(invoke("runs", "show", run_id, "--json"))
    assert original["run"]["status"] == "waiting"
    assert [t["run_id"] for t in original["tasks"]] == [run_id]

    human = invoke("runs", "fork", run_id, "--at", "6")
    assert human.exit_code == 0, human.output
    assert f"forked from {run_id} at event 6" in human.stdout
    assert "waiting" in human.stdout


def test_fork_errors_are_clear(invoke: Invoke, waiting: dict[str, Any]) -> None:
    run_id = waiting["run"]["id"]
    for at, message in (
        ("99", "event 99 is out of range (the run has events 1 to 6)"),
        ("3", "event 3 is not a checkpoint"),
    ):
        result = invoke("runs", "fork", run_id, "--at", at)
        assert result.exit_code == 2, result.output
        assert f"error: run {run_id}: {message}" in result.stderr
        assert "Traceback" not in result.output
    bad = invoke("runs", "fork", run_id, "--at", "6", "--set", "novalue")
    assert bad.exit_code == 2 and "expected key=value" in bad.stderr
    unknown = invoke("runs", "fork", "zzz", "--at", "2")
    assert unknown.exit_code == 2 and "no run matches 'zzz'" in unknown.stderr
    missing = invoke("runs", "fork", run_id)
    assert missing.exit_code == 2 and "--at" in missing.stderr


def test_replay(invoke: Invoke, waiting: dict[str, Any], write_flow: WriteFlow, out_json: OutJson) -> None:
    run_id = waiting["run"]["id"]
    [task] = waiting["tasks"]
    assert invoke("tasks", "complete", task["id"], "--output", "verdict=ok").exit_code == 0

    same = invoke("runs", "replay", run_id)
    assert same.exit_code == 0, same.output
    assert "matches: 9 events, 4 decisions asked again" in same.stdout
    assert out_json(invoke("runs", "replay", run_id, "--json"))["matched"] is True

    changed = write_flow("changed.flow.toml", REVIEW.replace("verdict == 'ok'", "verdict == 'great'"))
    diverged = invoke("runs", "replay", run_id, "--routine", str(changed))
    assert diverged.exit_code == 1, diverged.output
    assert "diverges at event 7 (wait.resolved, review)" in diverged.stdout
    assert '"publish" was recorded, now "rework"' in diverged.stdout
    assert "review (not stored) (flow)" in diverged.stdout

    report = out_json(invoke("runs", "replay", run_id, "--routine", str(changed), "--json"))
    assert report["matched"] is False
    assert report["routine"] == {"id": "review", "version": None, "format": "flow"}
    assert report["divergence"]["seq"] == 7
    assert report["divergence"]["recorded"] == {"create": ["publish"]}
    assert report["divergence"]["fresh"] == {"create": ["rework"]}

    nofile = invoke("runs", "replay", run_id, "--routine", "nope.flow.toml")
    assert nofile.exit_code == 2
