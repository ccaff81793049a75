"""Sample records for the storage conformance suite."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import attrs

from vrooli_core.model import (
    Decision,
    ErrorInfo,
    Event,
    Limits,
    NewToken,
    Outcome,
    OutcomeStatus,
    RoutineDef,
    RoutineRef,
    Run,
    RunStatus,
    UnknownEvent,
    Usage,
    Wait,
    WaitKind,
    WaitSpec,
)
from vrooli_core.model.events import (
    Decided,
    LimitReached,
    RunCancelled,
    RunCompleted,
    RunCreated,
    RunFailed,
    RunPaused,
    RunResumed,
    SafetyChecked,
    StepCompleted,
    StepRetrying,
    StepStarted,
    StepSuspended,
    SubstepRecorded,
    VariablesSet,
    WaitResolved,
)
from vrooli_core.storage.base import StoredRoutine

T0 = 1_700_000_000.0


def stored_routine(
    routine_id: str = "r", version: str = "1", text: str = "[steps.a]\n", path: str | None = "r.flow.toml"
) -> StoredRoutine:
    digest = hashlib.sha256(text.encode()).hexdigest()
    return StoredRoutine(
        RoutineDef(id=routine_id, format="flow", content_hash=digest, version=version, name=f"Routine {routine_id}"),
        text,
        path,
    )


def ref(routine_id: str = "r", version: str = "1") -> RoutineRef:
    return RoutineRef(routine_id, version, "0" * 64, "flow")


def run(
    run_id: str,
    *,
    status: RunStatus = RunStatus.RUNNING,
    routine_id: str = "r",
    at: float = T0,
    parent: str | None = None,
    labels: Mapping[str, str] | None = None,
    last_seq: int = 1,
) -> Run:
    return Run(
        id=run_id,
        routine=ref(routine_id),
        status=status,
        inputs={"n": 1},
        parent_run_id=parent,
        parent_token="t1" if parent else None,
        labels=dict(labels or {}),
        created_at=at,
        updated_at=at,
        last_seq=last_seq,
    )


def full_run(run_id: str) -> Run:
    """A run record with every field set to something other than its default."""
    return Run(
        id=run_id,
        routine=ref("full", "7"),
        status=RunStatus.FAILED,
        inputs={"text": "héllo", "items": [1, 2.5, None, True], "nested": {"a": {"b": []}}},
        outputs={"result": {"ok": False}},
        limits=Limits(max_steps=10, wall_time=60.0, max_cost=1.5, max_credits=3.0, on_limit="pause"),
        usage=Usage(input_tokens=10, output_tokens=20, cost=0.25, credits=1.0, wall_time=0.5, model_calls=2),
        steps=4,
        error=ErrorInfo(
            code="boom", message="it broke", type="builtins.RuntimeError", element="a", details={"why": ["x"]}
        ),
        parent_run_id="parent-run",
        parent_token="t3",
        labels={"team": "ops", "swarm": "s1"},
        created_at=T0 + 1.25,
        updated_at=T0 + 9.5,
        last_seq=12,
    )


def created(run_id: str, at: float = T0, routine_id: str = "r") -> Event:
    return Event(run_id, 1, at, RunCreated(ref(routine_id), {"n": 1}))


def filler(run_id: str, seq: int, at: float = T0) -> Event:
    return Event(run_id, seq, at + seq, VariablesSet({"i": seq}, reason="conformance"))


def every_payload() -> list[Any]:
    """One payload of every event type the kernel records, plus an event of an unknown type."""
    error = ErrorInfo(code="E", message="m", type="T", element="a", details={"k": [1, 2]})
    wait = WaitSpec(WaitKind.TIMER, name="tick", key="boundary:a", delay=5.0, blocking=False)
    decision = Decision(
        create=(NewToken("b", data={"i": 1}, wait=WaitSpec(WaitKind.MESSAGE, name="go", correlation="c1")),),
        cancel=("t9",),
        waits=(attrs.evolve(wait, token="t1"),),
        variables={"x": [1, {"y": None}]},
        state={"join:j": 1},
        forget=("old",),
    )
    usage = Usage(input_tokens=3, output_tokens=4, cost=0.01, model_calls=1)
    return [
        RunCreated(ref(), {"n": 1}, Limits(max_steps=5), "parent", "t1", {"team": "a"}),
        Decided("start", decision),
        StepStarted("t1", "a", 1, {"n": 1}),
        StepRetrying("t1", "a", 1, error, 0.5),
        StepCompleted("t1", "a", Outcome(output={"n": 2}, usage=usage), {"n": 2}, decision),
        StepCompleted(
            "t2",
            "h",
            Outcome(
                status=OutcomeStatus.SUSPENDED,
                wait=WaitSpec(WaitKind.HUMAN, name="Review", options=("ok", "no"), form={"schema": {"type": "object"}}),
            ),
        ),
        StepSuspended(
            "t2",
            "h",
            WaitSpec(WaitKind.HUMAN, name="Approve", options=("approve", "reject"), form={"approval": True}),
            usage,
        ),
        StepCompleted("t3", "x", Outcome.failure("E", "failed"), {}, Decision(error=error)),
        SubstepRecorded("t1", "a", "inner", Outcome(output="text", usage=usage)),
        WaitResolved(
            "w1",
            Outcome(output={"approved": True}, trigger="Review"),
            {"approved": True},
            Decision(complete=True, outputs={"done": True}),
        ),
        SafetyChecked("before_step", "pii", "redact", "email", "a", "t1"),
        LimitReached("max_steps", 5.0, 5.0, "pause"),
        VariablesSet({"a": 1}, "manual"),
        RunPaused("limit"),
        RunResumed(Limits(max_steps=10)),
        RunCancelled("stop"),
        RunCompleted({"out": [1, 2]}),
        RunFailed(error),
        UnknownEvent("conformance.removed-plugin", {"anything": [1, "two"]}),
    ]


def wait(
    wait_id: str,
    run_id: str,
    kind: WaitKind = WaitKind.HUMAN,
    *,
    name: str = "",
    correlation: str | None = None,
    due: float | None = None,
    at: float = T0,
) -> Wait:
    spec = WaitSpec(
        kind, name=name, correlation=correlation, due=due, options=("a", "b") if kind is WaitKind.CHOICE else ()
    )
    return Wait(wait_id, run_id, "t1", spec, at)
