"""The short stored forms of step events, and the longer forms written before them staying readable."""

from __future__ import annotations

import json

import vrooli_core.model as m
from vrooli_core.model import events as ev
from vrooli_core.serialization import dumps, loads, make_converter

CONV = make_converter()


def stored(payload: object) -> dict:
    return json.loads(dumps(CONV, m.Event("r", 5, 2.5, payload)))["data"]


def round_trip(payload: object) -> m.Event:
    event = m.Event("r", 5, 2.5, payload)
    back = loads(CONV, dumps(CONV, event), m.Event)
    assert back == event
    assert dumps(CONV, back) == dumps(CONV, event)  # stable: a re-read event is written the same way
    return back


def test_an_output_written_as_is_is_stored_once():
    written = {"x": 501, "nested": {"ok": [1, 2]}}
    payload = ev.StepCompleted("t5", "s", m.Outcome(output=written), written, m.Decision(create=(m.NewToken("next"),)))
    assert stored(payload) == {"token": "t5", "step": "s", "output": written, "decision": {"create": ["next"]}}
    back = round_trip(payload).payload
    assert back.outcome.output == back.writes == written
    assert back.outcome.output is back.writes


def test_the_rest_of_the_outcome_is_kept_beside_the_output():
    written = {"answer": "yes"}
    usage = m.Usage(wall_time=0.25, cost=0.5)
    payload = ev.WaitResolved("r-w1", m.Outcome(output=written, usage=usage, trigger="ask"), written)
    assert stored(payload) == {
        "wait_id": "r-w1",
        "outcome": {"usage": {"cost": 0.5, "wall_time": 0.25}, "trigger": "ask"},
        "output": written,
    }
    back = round_trip(payload).payload
    assert back.outcome == m.Outcome(output=written, usage=usage, trigger="ask")


def test_writes_that_are_not_the_output_itself_are_stored_beside_it():
    # Equal is not enough: {"a": True} == {"a": 1}, and JSON tells them apart.
    payload = ev.StepCompleted("t1", "s", m.Outcome(output={"a": True}), {"a": 1})
    assert stored(payload) == {"token": "t1", "step": "s", "outcome": {"output": {"a": True}}, "writes": {"a": 1}}
    back = round_trip(payload).payload
    assert back.outcome.output == {"a": True} and back.writes == {"a": 1}
    mapped = ev.StepCompleted("t1", "s", m.Outcome(output={"r": {"v": 1}}), {"v": 1})
    assert stored(mapped)["writes"] == {"v": 1} and stored(mapped)["outcome"] == {"output": {"r": {"v": 1}}}
    round_trip(mapped)


def test_a_step_with_nothing_to_report_stores_no_outcome():
    assert stored(ev.StepCompleted("t1", "s")) == {"token": "t1", "step": "s"}
    assert round_trip(ev.StepCompleted("t1", "s")).payload.outcome == m.Outcome()
    failed = ev.StepCompleted("t1", "s", m.Outcome.failure("E", "boom"))
    assert stored(failed)["outcome"] == {"status": "failed", "error": {"code": "E", "message": "boom"}}


def test_a_new_token_with_only_a_location_is_stored_as_the_location():
    decision = m.Decision(create=(m.NewToken("a"), m.NewToken("b", data={"via": "f1"}), m.NewToken("c", scope="t1")))
    assert json.loads(dumps(CONV, decision)) == {
        "create": ["a", {"location": "b", "data": {"via": "f1"}}, {"location": "c", "scope": "t1"}]
    }
    assert loads(CONV, dumps(CONV, decision), m.Decision) == decision


def test_events_written_in_the_longer_forms_stay_readable():
    old = [
        '{"run_id":"r","seq":3,"at":1.5,"type":"step.started","data":{"token":"t501","step":"t500"}}',
        '{"run_id":"r","seq":4,"at":1.6,"type":"step.completed","data":{"token":"t501","step":"t500",'
        '"outcome":{"output":{"x":501},"usage":{"wall_time":2.068899999585483e-05}},"writes":{"x":501},'
        '"decision":{"create":[{"location":"t501"}]}}}',
        '{"run_id":"r","seq":5,"at":1.7,"type":"step.completed","data":{"token":"t502","step":"t501","outcome":{},'
        '"decision":{"create":[{"location":"t502"}]}}}',
        '{"run_id":"r","seq":6,"at":1.8,"type":"wait.resolved","data":{"wait_id":"r-w1",'
        '"outcome":{"output":{"ok":true},"trigger":"ask"},"writes":{"ok":true}}}',
    ]
    started, completed, noop, resolved = (loads(CONV, text, m.Event).payload for text in old)
    assert started == ev.StepStarted("t501", "t500")
    assert completed == ev.StepCompleted(
        "t501",
        "t500",
        m.Outcome(output={"x": 501}, usage=m.Usage(wall_time=2.068899999585483e-05)),
        {"x": 501},
        m.Decision(create=(m.NewToken("t501"),)),
    )
    assert noop == ev.StepCompleted("t502", "t501", m.Outcome(), decision=m.Decision(create=(m.NewToken("t502"),)))
    assert resolved == ev.WaitResolved("r-w1", m.Outcome(output={"ok": True}, trigger="ask"), {"ok": True})
