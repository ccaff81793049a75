"""Runs, their status, usage and limits."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal

import attrs

from vrooli_core.model.empty import EMPTY
from vrooli_core.model.outcome import ErrorInfo
from vrooli_core.model.usage import NO_USAGE, Usage


class RunStatus(StrEnum):
    RUNNING = "running"
    #: Nothing can move until a wait (task, message, signal, timer, condition, child run) resolves.
    WAITING = "waiting"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in _FINISHED


_FINISHED = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED})
#: The statuses of a run that has not finished (what ``list_runs(status=...)`` asks for live runs).
UNFINISHED = (RunStatus.RUNNING, RunStatus.WAITING, RunStatus.PAUSED)




@attrs.frozen
class Limits:
    """Bounds a run must stay within; checked before every step."""

    max_steps: int | None = None
    #: Seconds since the run was created, on the engine's clock.
    wall_time: float | None = None
    max_cost: float | None = None
    max_credits: float | None = None
    on_limit: Literal["fail", "pause"] = "fail"


@attrs.frozen
class RoutineRef:
    """Which routine version a run executes; a run never embeds the routine itself."""

    id: str
    version: str
    content_hash: str
    format: str


@attrs.frozen
class Run:
    """A run's summary record, as storage lists it."""

    id: str
    routine: RoutineRef
    status: RunStatus
    inputs: Mapping[str, Any] = EMPTY
    outputs: Mapping[str, Any] | None = None
    limits: Limits = Limits()
    usage: Usage = NO_USAGE
    steps: int = 0
    error: ErrorInfo | None = None
    parent_run_id: str | None = None
    parent_token: str | None = None
    labels: Mapping[str, str] = EMPTY
    created_at: float = 0.0
    updated_at: float = 0.0
    #: Sequence number of the last event recorded for the run.
    last_seq: int = 0
