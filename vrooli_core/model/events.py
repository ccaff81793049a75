"""Events: every transition of a run, appended to its log before anything depends on it.

A payload class is registered under a dotted type name with :func:`event_type`; plugins register their
own (swarm events, model stream chunks) the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

import attrs

from vrooli_core.model.decision import Decision
from vrooli_core.model.empty import EMPTY
from vrooli_core.model.outcome import DONE, ErrorInfo, Outcome
from vrooli_core.model.run import Limits, RoutineRef
from vrooli_core.model.usage import NO_USAGE, Usage
from vrooli_core.model.waits import WaitSpec

EVENT_TYPES: dict[str, type] = {}

P = TypeVar("P", bound=type)


def event_type(name: str) -> Callable[[P], P]:
    """Register an attrs class as the payload of events of type ``name``."""

    def register(cls: P) -> P:
        if name in EVENT_TYPES and EVENT_TYPES[name] is not cls:
            raise ValueError(f"event type {name!r} is already registered by {EVENT_TYPES[name]!r}")
        cls.type = name  # type: ignore[attr-defined]
        EVENT_TYPES[name] = cls
        return cls

    return register


@attrs.frozen
class Event:
    """One entry of a run's log. ``seq`` starts at 1 and has no gaps."""

    run_id: str
    seq: int
    at: float
    payload: Any

    @property
    def type(self) -> str:
        return self.payload.type  # type: ignore[no-any-return]


@event_type("run.created")
@attrs.frozen
class RunCreated:
    type: ClassVar[str]
    routine: RoutineRef
    inputs: Mapping[str, Any] = EMPTY
    limits: Limits = Limits()
    parent_run_id: str | None = None
    parent_token: str | None = None
    labels: Mapping[str, str] = EMPTY
    #: The start trigger that created the run (the key of a message, signal or timer start), if any.
    start: str | None = None


@event_type("run.decided")
@attrs.frozen
class Decided:
    """A decision not tied to a step: the navigator's ``start`` or its answer to ``on_event``."""

    type: ClassVar[str]
    cause: str
    decision: Decision
    wait_id: str | None = None


@event_type("step.started")
@attrs.frozen
class StepStarted:
    """A step with side effects is about to execute (``attempt``); ``strategy`` is the strategy chosen
    to execute it (resolved when the step says ``auto`` or nothing), ``None`` for the engine's own
    steps (human, subroutine, delegated)."""

    type: ClassVar[str]
    token: str
    step: str
    attempt: int = 1
    inputs: Any = None
    strategy: str | None = None


@event_type("step.retrying")
@attrs.frozen
class StepRetrying:
    type: ClassVar[str]
    token: str
    step: str
    attempt: int
    error: ErrorInfo
    delay: float = 0.0


@event_type("step.completed")
@attrs.frozen
class StepCompleted:
    """A step finished (or failed) and the navigator decided what comes next.

    ``decision`` is ``None`` when the navigator raised; the run then fails with the next event.
    """

    type: ClassVar[str]
    token: str
    step: str
    outcome: Outcome = DONE
    writes: Mapping[str, Any] = EMPTY
    decision: Decision | None = None


@event_type("step.suspended")
@attrs.frozen
class StepSuspended:
    """A step cannot finish now (a person, a child run, an approval): its token parks on ``wait``."""

    type: ClassVar[str]
    token: str
    step: str
    wait: WaitSpec
    usage: Usage = NO_USAGE


@event_type("step.substep")
@attrs.frozen
class SubstepRecorded:
    """A step of a foreign runtime, run by a delegating navigator inside one of our steps."""

    type: ClassVar[str]
    token: str
    step: str
    substep: str
    outcome: Outcome


@event_type("step.cache_hit")
@attrs.frozen
class StepCacheHit:
    """A step that opted into the result cache (``cache`` in its config) found its result there and
    was not executed; ``saved`` is what executing it cost when the result was stored. The step's
    ``step.completed`` follows, with the cached output and no usage."""

    type: ClassVar[str]
    token: str
    step: str
    key: str
    saved: Usage = NO_USAGE


@event_type("usage.charged")
@attrs.frozen
class UsageCharged:
    """Usage a running step reported as it went (``StepContext.charge``: one model call, one paid API
    call), counted in the run's usage at once; the step's outcome then carries only the rest."""

    type: ClassVar[str]
    token: str
    step: str
    usage: Usage
    #: What was charged for (``model``, ``api``, …) and the strategy's details (model name, …).
    what: str = "model"
    detail: Mapping[str, Any] = EMPTY


@event_type("wait.resolved")
@attrs.frozen
class WaitResolved:
    type: ClassVar[str]
    wait_id: str
    outcome: Outcome
    writes: Mapping[str, Any] = EMPTY
    decision: Decision | None = None


@event_type("safety.checked")
@attrs.frozen
class SafetyChecked:
    """A safety check did something other than allow."""

    type: ClassVar[str]
    point: str
    check: str
    action: str
    reason: str = ""
    step: str | None = None
    token: str | None = None


@event_type("limit.reached")
@attrs.frozen
class LimitReached:
    type: ClassVar[str]
    limit: str
    value: float
    threshold: float
    action: str


@event_type("run.variables")
@attrs.frozen
class VariablesSet:
    type: ClassVar[str]
    values: Mapping[str, Any]
    reason: str = ""


@event_type("run.paused")
@attrs.frozen
class RunPaused:
    type: ClassVar[str]
    reason: str = ""


@event_type("run.resumed")
@attrs.frozen
class RunResumed:
    type: ClassVar[str]
    limits: Limits | None = None


@event_type("run.cancelled")
@attrs.frozen
class RunCancelled:
    type: ClassVar[str]
    reason: str = ""


@event_type("run.completed")
@attrs.frozen
class RunCompleted:
    type: ClassVar[str]
    outputs: Mapping[str, Any] = EMPTY


@event_type("run.failed")
@attrs.frozen
class RunFailed:
    type: ClassVar[str]
    error: ErrorInfo


@attrs.frozen
class UnknownEvent:
    """An event whose type no installed code registers (written by a plugin that is gone)."""

    type: str
    data: Mapping[str, Any] = EMPTY
