"""Event subprocesses: started by a message, timer, signal, error or escalation in their scope."""

from __future__ import annotations

import pytest
from bpmn_builder import chain, model, source

from vrooli_core import Engine, FakeClock
from vrooli_core.model import RunStatus

pytestmark = pytest.mark.anyio


def steps(events) -> list[str]:
    return [e.payload.step for e in events if e.type == "step.completed"]


def event_sub(sid: str, trigger: str, *, interrupting: bool = True, body: str = "", extra_flows: str = "") -> str:
    inner_task = f"{sid}_task"
    return (
        f'<subProcess id="{sid}" triggeredByEvent="true">'
        f'<startEvent id="{sid}_start" isInterrupting="{str(interrupting).lower()}">{trigger}</startEvent>'
        f'<task id="{inner_task}"/><endEvent id="{sid}_end"/>{body}'
        + chain(f"{sid}_start", inner_task, f"{sid}_end") + extra_flows + "</subProcess>"
    )


MESSAGE = '<messageEventDefinition messageRef="m"/>'
MAIN = '<startEvent id="s"/><userTask id="work"/><task id="after"/><endEvent id="e"/>' + chain("s", "work", "after", "e")


async def test_interrupting_message_event_subprocess_cancels_the_process_body(host, store):
    text = model(MAIN + event_sub("cancelled", MESSAGE), extra='<message id="m" name="cancel order"/>')
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(source(text))
        assert run.status is RunStatus.WAITING
        [moved] = await engine.send_message("cancel order")
        assert moved.status is RunStatus.COMPLETED
        assert await engine.tasks() == []
        assert steps(await engine.history(run.id)) == ["cancelled", "cancelled_task"]


async def test_non_interrupting_message_event_subprocess_runs_beside_and_listens_again(host, store):
    text = model(MAIN + event_sub("noted", MESSAGE, interrupting=False), extra='<message id="m" name="note"/>')
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(source(text))
        await engine.send_message("note")
        await engine.send_message("note")
        assert (await engine.get_run(run.id)).status is RunStatus.WAITING
        [task] = await engine.tasks()
        run = await engine.complete_task(task.id, {})
        events = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED  # the listening host does not keep the run alive
    assert steps(events).count("noted_task") == 2 and steps(events)[-1] == "after"


async def test_timer_event_subprocess(host, store):
    timer = '<timerEventDefinition><timeDuration>PT1H</timeDuration></timerEventDefinition>'
    text = model(MAIN + event_sub("timeout", timer))
    clock = FakeClock()
    async with Engine.open(store, host=host, clock=clock) as engine:
        run = await engine.run(source(text))
        await engine.advance_clock(3600)
        run = await engine.get_run(run.id)
        assert run.status is RunStatus.COMPLETED
        assert steps(await engine.history(run.id)) == ["timeout", "timeout_task"]


async def test_error_event_subprocess_catches_an_error_end_event(host, store):
    body = (
        '<startEvent id="s"/><exclusiveGateway id="g" default="ok"/><endEvent id="boom"><errorEventDefinition errorRef="err"/></endEvent>'
        '<endEvent id="e"/>'
        '<sequenceFlow id="f0" sourceRef="s" targetRef="g"/>'
        '<sequenceFlow id="bad" sourceRef="g" targetRef="boom"><conditionExpression>= risky</conditionExpression></sequenceFlow>'
        '<sequenceFlow id="ok" sourceRef="g" targetRef="e"/>'
    )
    text = model(body + event_sub("handler", '<errorEventDefinition errorRef="err"/>'), extra='<error id="err" errorCode="RISK"/>')
    async with Engine.open(store, host=host) as engine:
        caught = await engine.run(source(text), {"risky": True})
        clean = await engine.run(source(text), {"risky": False})
        caught_steps = steps(await engine.history(caught.id))
    assert caught.status is clean.status is RunStatus.COMPLETED
    assert caught_steps == ["handler", "handler_task"] and caught.outputs["error"] == {"code": "RISK"}


async def test_event_subprocess_inside_a_subprocess_is_scoped_to_it(host, store):
    inner = (
        '<subProcess id="sub"><startEvent id="ss"/><userTask id="inner"/><endEvent id="se"/>'
        + chain("ss", "inner", "se") + event_sub("stop", '<signalEventDefinition signalRef="sg"/>') + "</subProcess>"
    )
    text = model('<startEvent id="s"/>' + inner + '<task id="after"/><endEvent id="e"/>' + chain("s", "sub", "after", "e"), extra='<signal id="sg" name="stop"/>')
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(source(text))
        [moved] = await engine.send_signal("stop")
        events = await engine.history(run.id)
        # once the subprocess is over, its event subprocess no longer listens
        assert await engine.send_signal("stop") == []
    assert moved.status is RunStatus.COMPLETED
    assert steps(events) == ["sub", "stop", "stop_task", "after"]
