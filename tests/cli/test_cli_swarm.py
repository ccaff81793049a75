"""``vrooli swarm run|resume|show|list|stop`` with a fake model standing in for the planner and the agents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest
from _clitypes import Invoke, OutJson

from vrooli_core.cli import _common
from vrooli_core.coordination.plan import PLAN_SCHEMA
from vrooli_core.execution.strategy import StepContext, Strategy
from vrooli_core.plugins import PluginHost, hookimpl

TEAM = """
id = "research"
name = "Research"
budget = 100

[[agents]]
name = "ana"
role = "analyst"
capabilities = ["search"]

[[agents]]
name = "wes"
role = "writer"
capabilities = ["write"]

[[people]]
id = "pat"
name = "Pat"
capabilities = ["review"]
"""

PLAN = {
    "tasks": [
        {"id": "find", "title": "Find facts", "capabilities": ["search"], "estimate": 10},
        {"id": "write", "title": "Write it up", "capabilities": ["write"], "depends_on": ["find"], "estimate": 10},
    ]
}
REVIEWED = {"tasks": [*PLAN["tasks"], {"id": "review", "title": "Review", "capabilities": ["review"], "depends_on": ["write"]}]}
ANSWERS: dict[str, Any] = {}


class FakeModel(Strategy):
    """The planner answers ``ANSWERS["plan"]``; an agent answers what its task asks for."""

    name: ClassVar[str] = "reasoning"

    async def execute(self, ctx: StepContext) -> Any:
        if ctx.step.config.get("output_schema") == PLAN_SCHEMA:
            return ANSWERS["plan"]
        return f"{ctx.inputs['task']['title']} done, after {sorted(ctx.inputs['inputs'])}"


class Conversational(FakeModel):
    name: ClassVar[str] = "conversational"


class ModelPlugin:
    @hookimpl
    def vrooli_register_strategies(self) -> list:
        return [FakeModel, Conversational]


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch, flow_host: None) -> None:
    original = _common.make_host

    def make_host(strict: bool, config: Any = None) -> PluginHost:
        host = original(strict, config)
        host.register(ModelPlugin(), name="fake-model")
        return host

    monkeypatch.setattr(_common, "make_host", make_host)


@pytest.fixture
def team(tmp_path: Path) -> Path:
    path = tmp_path / "team.toml"
    path.write_text(TEAM)
    return path


def test_a_swarm_runs_to_its_report(invoke: Invoke, out_json: OutJson, model: None, team: Path) -> None:
    ANSWERS["plan"] = PLAN
    result = invoke("swarm", "run", "--team", str(team), "Summarise the market")
    assert result.exit_code == 0, result.output
    assert "completed (every task is done)" in result.stdout
    assert "find" in result.stdout and "Write it up" in result.stdout and "blackboard" in result.stdout
    swarm_id = result.stdout.split()[1].rstrip(":")
    shown = out_json(invoke("swarm", "show", swarm_id, "--json"))
    assert shown["status"] == "completed" and [t["assignee"] for t in shown["tasks"]] == ["ana", "wes"]
    assert shown["spent"] == 0 and shown["limits"]["credits"] == 100
    [write] = [w for w in shown["blackboard"]["writes"] if w["key"] == "task.write"]
    assert write["value"] == "Write it up done, after ['find']" and write["by"] == "wes"
    listed = out_json(invoke("swarm", "list", "--json"))
    assert [s["id"] for s in listed] == [swarm_id]
    events = invoke("swarm", "show", swarm_id, "--events")
    assert "swarm.planned" in events.stdout and "task.completed" in events.stdout


def test_a_person_task_is_answered_and_the_swarm_resumed(invoke: Invoke, out_json: OutJson, model: None, team: Path) -> None:
    ANSWERS["plan"] = REVIEWED
    first = out_json(invoke("swarm", "run", "--team", str(team), "Summarise, reviewed", "--json"))
    assert first["status"] == "running"
    [task] = first["open_tasks"]
    assert task["assignee"] == "pat"
    done = invoke("tasks", "complete", task["id"], "--output", "ok=true")
    assert done.exit_code == 0, done.output
    resumed = out_json(invoke("swarm", "resume", first["id"], "--json"))
    assert resumed["status"] == "completed"
    assert [t["status"] for t in resumed["tasks"]] == ["completed"] * 3


def test_a_given_plan_file_and_a_stop(invoke: Invoke, out_json: OutJson, model: None, team: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"tasks": [{"id": "review", "title": "Review", "capabilities": ["review"]}]}))
    ANSWERS["plan"] = None  # the planner must not be asked
    first = out_json(invoke("swarm", "run", "--team", str(team), "Just review", "--plan", str(plan), "--json"))
    assert first["status"] == "running" and first["tasks"][0]["status"] == "waiting"
    stopped = invoke("swarm", "stop", first["id"], "--reason", "not needed")
    assert stopped.exit_code == 0, stopped.output
    assert "cancelled (not needed)" in stopped.stdout
    assert out_json(invoke("tasks", "list", "--json")) == []  # the person's task went with the run


def test_bad_input_is_exit_2_with_one_line(invoke: Invoke, flow_host: None, team: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "t"\nname = "T"\n[[agents]]\nname = "x"\n')
    result = invoke("swarm", "run", "--team", str(bad), "anything")
    assert result.exit_code == 2 and "agents[0].role" in result.stderr and "Traceback" not in result.output
    # no model plugin: the default planner cannot run
    result = invoke("swarm", "run", "--team", str(team), "anything")
    assert result.exit_code == 2 and "pip install vrooli-litellm" in result.stderr
    plan = tmp_path / "plan.json"
    plan.write_text('{"tasks": [{"id": "a"}]}')
    result = invoke("swarm", "run", "--team", str(team), "anything", "--plan", str(plan))
    assert result.exit_code == 2 and "tasks[0]" in result.stderr and "title" in result.stderr
    result = invoke("swarm", "show", "swarm-nope")
    assert result.exit_code == 2 and "no swarm 'swarm-nope'" in result.stderr
