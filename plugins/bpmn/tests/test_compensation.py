"""Compensation (boundary handlers, throw and end events, event subprocesses) and transactions."""

from __future__ import annotations

import pytest
from bpmn_builder import chain, flow, model, source

from vrooli_core import Engine
from vrooli_core.model import RunStatus

pytestmark = pytest.mark.anyio


def script(tid: str, text: str, extra: str = "") -> str:
    return f'<scriptTask id="{tid}" scriptFormat="python"{extra}><script>{text}</script></scriptTask>'


def logs(tid: str, extra: str = "") -> str:
    """A script task appending its own id to the ``log`` variable."""
    return script(tid, f'log = log + ["{tid}"]', extra)


def compensable(tid: str, scope_note: str = "") -> str:
    """An activity with a compensation boundary event whose handler logs ``undo_<tid>``."""
    return (
        logs(tid)
        + f'<boundaryEvent id="cb_{tid}" attachedToRef="{tid}"><compensateEventDefinition/></boundaryEvent>'
        + logs(f"undo_{tid}", ' isForCompensation="true"')
        + f'<association id="a_{tid}" sourceRef="cb_{tid}" targetRef="undo_{tid}"/>'
        + scope_note
    )


async def run_log(host, store, text, inputs=None):
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(source(text), {"log": [], **(inputs or {})})
    return run


THROW_ALL = '<intermediateThrowEvent id="undo"><compensateEventDefinition/></intermediateThrowEvent>'


async def test_throw_compensates_completed_activities_most_recent_first_then_continues(host, store):
    text = model(
        '<startEvent id="s"/>' + compensable("hotel") + compensable("flight") + THROW_ALL + logs("after") + '<endEvent id="e"/>'
        + chain("s", "hotel", "flight", "undo", "after", "e")
    )
    run = await run_log(host, store, text)
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.outputs["log"] == ["hotel", "flight", "undo_flight", "undo_hotel", "after"]


async def test_activity_ref_compensates_only_that_activity_and_only_once(host, store):
    text = model(
        '<startEvent id="s"/>' + compensable("hotel") + compensable("flight")
        + '<intermediateThrowEvent id="undo"><compensateEventDefinition activityRef="hotel"/></intermediateThrowEvent>'
        + '<intermediateThrowEvent id="again"><compensateEventDefinition/></intermediateThrowEvent><endEvent id="e"/>'
        + chain("s", "hotel", "flight", "undo", "again", "e")
    )
    run = await run_log(host, store, text)
    assert run.outputs["log"] == ["hotel", "flight", "undo_hotel", "undo_flight"]


async def test_activities_that_did_not_complete_are_not_compensated(host, store):
    # flight fails (BPMN error); the error path ends with a compensation end event, which waits for
    # the handlers before the run completes.
    text = model(
        '<startEvent id="s"/>' + compensable("hotel")
        + '<scriptTask id="flight" scriptFormat="python"><script>fail("NoSeats")</script></scriptTask>'
        + '<boundaryEvent id="cb_flight" attachedToRef="flight"><compensateEventDefinition/></boundaryEvent>'
        + logs("undo_flight", ' isForCompensation="true"') + '<association id="af" sourceRef="cb_flight" targetRef="undo_flight"/>'
        + '<boundaryEvent id="err" attachedToRef="flight"><errorEventDefinition/></boundaryEvent>'
        + '<endEvent id="rollback"><compensateEventDefinition/></endEvent><endEvent id="e"/>'
        + chain("s", "hotel", "flight", "e") + flow("f_err", "err", "rollback")
    )
    run = await run_log(host, store, text)
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.outputs["log"] == ["hotel", "undo_hotel"]


async def test_wait_for_completion_false_continues_at_once(host, store):
    text = model(
        '<startEvent id="s"/>' + compensable("hotel")
        + '<intermediateThrowEvent id="undo"><compensateEventDefinition waitForCompletion="false"/></intermediateThrowEvent>'
        + logs("after") + '<endEvent id="e"/>' + chain("s", "hotel", "undo", "after", "e")
    )
    run = await run_log(host, store, text)
    assert run.status is RunStatus.COMPLETED
    assert sorted(run.outputs["log"][1:]) == ["after", "undo_hotel"]


async def test_each_multi_instance_instance_is_compensated_with_its_own_element(host, store):
    text = model(
        '<startEvent id="s"/>'
        + script("book", 'log = log + ["book " + item]')
        .replace("</scriptTask>", '<multiInstanceLoopCharacteristics isSequential="true"><extensionElements>'
                 '<zeebe:loopCharacteristics inputCollection="= items" inputElement="item"/></extensionElements>'
                 "</multiInstanceLoopCharacteristics></scriptTask>")
        + '<boundaryEvent id="cb" attachedToRef="book"><compensateEventDefinition/></boundaryEvent>'
        + script("unbook", 'log = log + ["unbook " + item]', ' isForCompensation="true"')
        + '<association id="a" sourceRef="cb" targetRef="unbook"/>' + THROW_ALL + '<endEvent id="e"/>'
        + chain("s", "book", "undo", "e")
    )
    run = await run_log(host, store, text, {"items": ["a", "b", "c"]})
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.outputs["log"] == ["book a", "book b", "book c", "unbook c", "unbook b", "unbook a"]


async def test_a_subprocess_without_a_handler_compensates_what_completed_inside_it(host, store):
    text = model(
        '<startEvent id="s"/><subProcess id="trip"><startEvent id="ts"/>' + compensable("hotel") + compensable("flight")
        + '<endEvent id="te"/>' + chain("ts", "hotel", "flight", "te") + "</subProcess>"
        + compensable("car") + THROW_ALL + '<endEvent id="e"/>' + chain("s", "trip", "car", "undo", "e")
    )
    run = await run_log(host, store, text)
    assert run.outputs["log"] == ["hotel", "flight", "car", "undo_car", "undo_flight", "undo_hotel"]


async def test_a_subprocess_with_its_own_handler_is_compensated_by_it_alone(host, store):
    text = model(
        '<startEvent id="s"/><subProcess id="trip"><startEvent id="ts"/>' + compensable("hotel")
        + '<endEvent id="te"/>' + chain("ts", "hotel", "te") + "</subProcess>"
        + '<boundaryEvent id="cb_trip" attachedToRef="trip"><compensateEventDefinition/></boundaryEvent>'
        + logs("undo_trip", ' isForCompensation="true"') + '<association id="a" sourceRef="cb_trip" targetRef="undo_trip"/>'
        + THROW_ALL + '<endEvent id="e"/>' + chain("s", "trip", "undo", "e")
    )
    run = await run_log(host, store, text)
    assert run.outputs["log"] == ["hotel", "undo_trip"]


async def test_a_compensation_event_subprocess_handles_its_subprocess(host, store):
    # As in the MIWG travel-booking model: the subprocess's compensation event subprocess throws
    # compensation, which compensates what completed inside the subprocess.
    text = model(
        '<startEvent id="s"/><subProcess id="trip"><startEvent id="ts"/>' + compensable("hotel") + compensable("flight")
        + '<endEvent id="te"/>' + chain("ts", "hotel", "flight", "te")
        + '<subProcess id="handle" triggeredByEvent="true"><startEvent id="hs"><compensateEventDefinition/></startEvent>'
        + logs("compensating") + '<intermediateThrowEvent id="inner"><compensateEventDefinition/></intermediateThrowEvent>'
        + '<endEvent id="he"/>' + chain("hs", "compensating", "inner", "he") + "</subProcess></subProcess>"
        + THROW_ALL + logs("after") + '<endEvent id="e"/>' + chain("s", "trip", "undo", "after", "e")
    )
    run = await run_log(host, store, text)
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.outputs["log"] == ["hotel", "flight", "compensating", "undo_flight", "undo_hotel", "after"]


async def test_an_error_event_subprocess_compensates_the_scope_it_is_in(host, store):
    text = model(
        '<startEvent id="s"/>' + compensable("hotel") + '<endEvent id="boom"><errorEventDefinition errorRef="E"/></endEvent>'
        + chain("s", "hotel", "boom")
        + '<subProcess id="onerror" triggeredByEvent="true"><startEvent id="es"><errorEventDefinition/></startEvent>'
        + THROW_ALL + logs("handled") + '<endEvent id="ee"/>' + chain("es", "undo", "handled", "ee") + "</subProcess>",
        extra='<error id="E" errorCode="Boom"/>',
    )
    run = await run_log(host, store, text)
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.outputs["log"] == ["hotel", "undo_hotel", "handled"]


TRANSACTION = model(
    '<startEvent id="s"/><transaction id="tx"><startEvent id="ts"/>' + compensable("hotel") + compensable("flight")
    + '<exclusiveGateway id="ok" default="f_fine"/><endEvent id="cancel"><cancelEventDefinition/></endEvent><endEvent id="te"/>'
    + chain("ts", "hotel", "flight", "ok") + flow("f_bad", "ok", "cancel", "= not(paid)") + flow("f_fine", "ok", "te")
    + "</transaction>"
    + '<boundaryEvent id="cancelled" attachedToRef="tx"><cancelEventDefinition/></boundaryEvent>'
    + logs("after_cancel") + logs("after_tx") + '<endEvent id="e1"/><endEvent id="e2"/>'
    + chain("s", "tx", "after_tx", "e1") + chain("cancelled", "after_cancel", "e2")
)


async def test_a_cancelled_transaction_compensates_its_inside_then_takes_the_cancel_boundary(host, store):
    run = await run_log(host, store, TRANSACTION, {"paid": False})
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.outputs["log"] == ["hotel", "flight", "undo_flight", "undo_hotel", "after_cancel"]


async def test_a_transaction_that_completes_carries_on_and_compensates_nothing(host, store):
    run = await run_log(host, store, TRANSACTION, {"paid": True})
    assert run.outputs["log"] == ["hotel", "flight", "after_tx"]


async def test_compensation_waiting_on_a_person_survives_a_restart(host, store):
    text = model(
        '<startEvent id="s"/>' + logs("hotel")
        + '<boundaryEvent id="cb" attachedToRef="hotel"><compensateEventDefinition/></boundaryEvent>'
        + '<userTask id="call_hotel" isForCompensation="true"/><association id="a" sourceRef="cb" targetRef="call_hotel"/>'
        + THROW_ALL + logs("after") + '<endEvent id="e"/>' + chain("s", "hotel", "undo", "after", "e")
    )
    async with Engine.open(store, host=host) as engine:
        run = await engine.start(source(text), {"log": []})
        run = await engine.wait(run.id)
        assert run.status is RunStatus.WAITING
        [task] = await engine.tasks()
        assert task.spec.name == "call_hotel"
    async with Engine.open(store, host=host) as engine:
        run = await engine.complete_task(task.id, {"called": True})
        run = await engine.wait(run.id)
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.outputs["log"] == ["hotel", "after"] and run.outputs["called"] is True


async def test_cancelling_one_instance_of_a_multi_instance_transaction_cancels_them_all(host, store):
    text = model(
        '<startEvent id="s"/><transaction id="tx"><multiInstanceLoopCharacteristics><extensionElements>'
        '<zeebe:loopCharacteristics inputCollection="= items" inputElement="item"/></extensionElements>'
        '</multiInstanceLoopCharacteristics><startEvent id="ts"/><userTask id="work"/>'
        '<exclusiveGateway id="ok" default="f_fine"/><endEvent id="cancel"><cancelEventDefinition/></endEvent><endEvent id="te"/>'
        + chain("ts", "work", "ok") + flow("f_bad", "ok", "cancel", "= bad") + flow("f_fine", "ok", "te")
        + "</transaction>"
        + '<boundaryEvent id="cancelled" attachedToRef="tx"><cancelEventDefinition/></boundaryEvent>'
        + logs("after_cancel") + '<endEvent id="e1"/><endEvent id="e2"/>'
        + chain("s", "tx", "e1") + chain("cancelled", "after_cancel", "e2")
    )
    async with Engine.open(store, host=host) as engine:
        run = await engine.start(source(text), {"log": [], "items": [1, 2, 3], "bad": False})
        await engine.wait(run.id)
        tasks = await engine.tasks()
        assert len(tasks) == 3
        run = await engine.complete_task(tasks[0].id, {"bad": True})
        assert await engine.tasks() == []
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.outputs["log"] == ["after_cancel"]
