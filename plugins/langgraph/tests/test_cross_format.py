"""Cross-format routines: a BPMN call activity runs a LangGraph graph as its child run; the graph's
interrupt is a human task answered with ``vrooli tasks complete`` in another process (the engines are
closed in between: everything comes back from the SQLite file); the BPMN process then goes on with the
graph's outputs."""

from __future__ import annotations

from pathlib import Path

import anyio
import click.testing
import pytest

from vrooli_core import Engine
from vrooli_core.cli import _common, main
from vrooli_core.model import RoutineSource, RunStatus

pytestmark = pytest.mark.anyio

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs">
<process id="ticket" isExecutable="true">
  <startEvent id="start"/>
  <callActivity id="review_it" name="Review the draft" calledElement="review"/>
  <endEvent id="end"/>
  <sequenceFlow id="f1" sourceRef="start" targetRef="review_it"/>
  <sequenceFlow id="f2" sourceRef="review_it" targetRef="end"/>
</process>
</definitions>
"""


@pytest.fixture
def both(host):
    pytest.importorskip("vrooli_bpmn", reason="vrooli-bpmn is not installed in this environment")
    pytest.importorskip("vrooli_sqlalchemy", reason="vrooli-sqlalchemy is not installed in this environment")
    import vrooli_bpmn.plugin
    import vrooli_sqlalchemy.plugin

    host.register(vrooli_bpmn.plugin, "bpmn")
    host.register(vrooli_sqlalchemy.plugin, "sqlalchemy")
    return host


async def test_bpmn_calls_langgraph_whose_interrupt_is_answered_from_the_cli(both, tmp_path: Path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'mixed.db'}"
    async with Engine.open(url, host=both) as engine:
        await engine.load("graphs:review", format="langgraph")
        parent = await engine.run(RoutineSource(BPMN, "ticket.bpmn"), {"draft": "ticket 7", "verdict": ""})
        assert parent.status is RunStatus.WAITING
        [task] = await engine.tasks()
        [child] = await engine.list_runs(parent_run_id=parent.id)
        assert await engine.tasks(parent.id, descendants=True) == [task]  # what the BPMN process waits for
    assert child.routine.format == "langgraph" and task.run_id == child.id
    assert task.spec.form["interrupt"]["question"] == "Send it?"

    # Another process: the CLI, with the same plugins, on the same file.
    monkeypatch.setattr(_common, "make_host", lambda strict, config=None: both)
    args = ["--store", url, "tasks", "complete", task.id, "--output", "verdict=send"]
    result = await anyio.to_thread.run_sync(lambda: click.testing.CliRunner().invoke(main, args))
    assert result.exit_code == 0, result.output

    async with Engine.open(url, host=both) as engine:
        done = await engine.get_run(parent.id)
        child_done = await engine.get_run(child.id)
    assert child_done.status is RunStatus.COMPLETED and child_done.outputs["verdict"] == "send"
    assert done.status is RunStatus.COMPLETED, done.error
    assert done.outputs["verdict"] == "send" and done.outputs["draft"] == "draft for ticket 7"
