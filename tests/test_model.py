"""Every model type round-trips through the one converter and through JSON."""

from __future__ import annotations

import json

import attrs
import pytest

import vrooli_core.model as m
from vrooli_core.engine.state import RunState
from vrooli_core.execution.code import SandboxReport
from vrooli_core.model import events as ev
from vrooli_core.serialization import dumps, loads, make_converter

CONV = make_converter()

USAGE = m.Usage(input_tokens=10, output_tokens=5, cost=0.25, credits=2.5, wall_time=1.5, model_calls=1)
ERROR = m.ErrorInfo(code="E42", message="boom", type="builtins.ValueError", element="task1", details={"k": [1, 2]})
WAIT_SPEC = m.WaitSpec(
    kind=m.WaitKind.MESSAGE, name="paid", blocking=False, key="boundary:x", correlation="A-1", due=5.0, delay=2.0,
    condition="x > 1", options=("a", "b"), form={"schema": {"type": "object"}}, assignee="ann", token="t3",
)
NEW_TOKEN = m.NewToken("step", scope="t1", data={"i": 2}, locals={"item": "a"}, wait=WAIT_SPEC, also_wait=(m.WaitSpec(m.WaitKind.TIMER, due=9.0),))
DECISION = m.Decision(
    create=(NEW_TOKEN, m.NewToken("other")), cancel=("t9",), waits=(WAIT_SPEC,), variables={"v": {"nested": [1, "x"]}},
    state={"join:g": 2}, forget=("old",), complete=True, outputs={"o": 1}, error=ERROR,
    emit=(m.Emit(m.WaitKind.SIGNAL, "go", {"p": 1}), m.Emit(m.WaitKind.MESSAGE, "paid", None, "A-1")),
)
OUTCOME = m.Outcome(m.OutcomeStatus.SUSPENDED, output={"answer": 42}, error=ERROR, usage=USAGE, wait=WAIT_SPEC, trigger="k")
LIMITS = m.Limits(max_steps=10, wall_time=60.0, max_cost=1.5, max_credits=100.0, on_limit="pause")
REF = m.RoutineRef("r", "3", "abc", "flow")

VALUES = [
    USAGE,
    ERROR,
    WAIT_SPEC,
    NEW_TOKEN,
    DECISION,
    OUTCOME,
    LIMITS,
    REF,
    m.Token("t1", "step", scope="t0", data={"i": 1}, locals={"x": [1]}),
    m.Emit(m.WaitKind.SIGNAL, "go", {"p": 1}),
    m.Wait("r-w1", "r", "t1", WAIT_SPEC, created_at=3.0),
    m.WaitSpec(m.WaitKind.OUTBOX, "paid", key="message", correlation="B", payload={"from": "r1"}),
    m.IOMapping(inputs={"a": "b.c"}, outputs={"x": ""}),
    m.RetryPolicy(max_attempts=3, backoff=0.5, retry_on=("E1",)),
    m.StepDef("s", m.StepKind.TOOL, "Step", "deterministic", {"tool": "t"}, m.IOMapping({"a": "b"}), 5.0, m.RetryPolicy(2), 7),
    m.RoutineDef("r", "flow", "abc", "3", "R", "desc", {"type": "object"}, {"type": "object"}),
    m.RoutineSource("text", "a.flow.toml", "flow"),
    m.RoutineWarning("careful", "g1", 3),
    m.Run(
        "r1", REF, m.RunStatus.FAILED, {"i": 1}, {"o": 2}, LIMITS, USAGE, 4, ERROR, "p", "t2", {"team": "red"}, 1.0, 2.0, 9,
    ),
]

PAYLOADS = [
    ev.RunCreated(REF, {"i": 1}, LIMITS, "p", "t1", {"team": "red"}),
    ev.Decided("start", DECISION, "w1"),
    ev.StepStarted("t1", "s", 2, {"in": 1}, "deterministic"),
    ev.StepRetrying("t1", "s", 1, ERROR, 0.5),
    ev.StepCompleted("t1", "s", OUTCOME, {"w": 1}, DECISION),
    ev.StepSuspended("t1", "s", WAIT_SPEC, USAGE),
    ev.SubstepRecorded("t1", "s", "node", OUTCOME),
    ev.StepCacheHit("t1", "s", "abc123", USAGE),
    ev.UsageCharged("t1", "s", USAGE, "model", {"model": "m"}),
    SandboxReport("t1", "s", True, "cut: a new network namespace", ("RLIMIT_CPU",), None),
    ev.WaitResolved("w1", OUTCOME, {"w": 2}, DECISION),
    ev.SafetyChecked("before_step", "guard", "deny", "no", "s", "t1"),
    ev.LimitReached("max_steps", 3, 3, "pause"),
    ev.VariablesSet({"x": [1]}, "fix"),
    ev.RunPaused("lunch"),
    ev.RunResumed(LIMITS),
    ev.RunCancelled("bye"),
    ev.RunCompleted({"o": 1}),
    ev.RunFailed(ERROR),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_value_round_trips(value):
    text = dumps(CONV, value)
    json.loads(text)  # really JSON
    assert loads(CONV, text, type(value)) == value


@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: p.type)
def test_event_round_trips(payload):
    event = m.Event("run-1", 7, 123.5, payload)
    data = json.loads(dumps(CONV, event))
    assert data["type"] == payload.type and data["seq"] == 7
    assert loads(CONV, json.dumps(data), m.Event) == event


def test_every_registered_event_type_is_covered():
    assert {p.type for p in PAYLOADS} == set(m.EVENT_TYPES)


def test_every_model_class_is_covered():
    objs = [getattr(m, name) for name in m.__all__]
    classes = {o for o in objs if isinstance(o, type) and attrs.has(o)}
    covered = {type(v) for v in VALUES} | {m.Event, m.UnknownEvent, m.Graph}
    assert classes <= covered, classes - covered


def test_unknown_event_types_stay_readable():
    text = '{"run_id":"r","seq":3,"at":1.0,"type":"swarm.formed","data":{"size":3}}'
    event = loads(CONV, text, m.Event)
    assert event.payload == m.UnknownEvent("swarm.formed", {"size": 3})
    assert json.loads(dumps(CONV, event)) == json.loads(text)


def test_defaults_are_omitted():
    assert json.loads(dumps(CONV, m.Outcome())) == {}
    assert json.loads(dumps(CONV, m.Decision(variables={"a": 1}))) == {"variables": {"a": 1}}


def test_run_state_snapshot_round_trips():
    state = RunState.created("r", 1.0, PAYLOADS[0])
    state.tokens["t1"] = m.Token("t1", "s", data={"i": 1})
    state.waits["r-w1"] = m.Wait("r-w1", "r", "t1", WAIT_SPEC, 2.0)
    state.token_waits["t1"] = ["r-w1"]
    state.nav["join:g"] = 1
    state.approved.add("t1")
    state.started["t1"] = 2
    state.usage = USAGE
    state.error = ERROR
    data = json.loads(json.dumps(state.to_snapshot(CONV)))
    back = RunState.from_snapshot(CONV, data)
    for field in attrs.fields(RunState):
        assert getattr(back, field.name) == getattr(state, field.name), field.name


def test_event_type_names_are_unique():
    with pytest.raises(ValueError, match="already registered"):

        @m.event_type("run.created")
        @attrs.frozen
        class Imposter:
            pass
