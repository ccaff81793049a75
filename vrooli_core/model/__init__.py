"""The value types of vrooli. Everything here is an immutable attrs class and round-trips through
:func:`vrooli_core.serialization.make_converter`."""

from vrooli_core.model.decision import NOTHING, Decision, Emit, goto
from vrooli_core.model.events import EVENT_TYPES, Event, UnknownEvent, event_type
from vrooli_core.model.outcome import ErrorInfo, Outcome, OutcomeStatus
from vrooli_core.model.routine import (
    Graph,
    IOMapping,
    RetryPolicy,
    RoutineDef,
    RoutineSource,
    RoutineWarning,
    StepDef,
    StepKind,
)
from vrooli_core.model.run import Limits, RoutineRef, Run, RunStatus
from vrooli_core.model.tokens import NewToken, Token
from vrooli_core.model.usage import NO_USAGE, Usage
from vrooli_core.model.waits import Wait, WaitKind, WaitSpec

__all__ = [
    "EVENT_TYPES",
    "NOTHING",
    "NO_USAGE",
    "Decision",
    "Emit",
    "ErrorInfo",
    "Event",
    "Graph",
    "IOMapping",
    "Limits",
    "NewToken",
    "Outcome",
    "OutcomeStatus",
    "RetryPolicy",
    "RoutineDef",
    "RoutineRef",
    "RoutineSource",
    "RoutineWarning",
    "Run",
    "RunStatus",
    "StepDef",
    "StepKind",
    "Token",
    "UnknownEvent",
    "Usage",
    "Wait",
    "WaitKind",
    "WaitSpec",
    "event_type",
    "goto",
]
