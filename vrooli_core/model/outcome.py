"""What a step produced."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import attrs

from vrooli_core.model.empty import EMPTY
from vrooli_core.model.usage import NO_USAGE, Usage
from vrooli_core.model.waits import WaitSpec


@attrs.frozen
class ErrorInfo:
    """A typed, serialisable error. ``code`` is what navigators route on (e.g. to an error boundary)."""

    code: str
    message: str
    #: The Python exception type or error family, for people reading history.
    type: str = ""
    #: The routine element (step, event, gateway) the error concerns.
    element: str | None = None
    details: Mapping[str, Any] = EMPTY

    @classmethod
    def from_exception(cls, exc: BaseException, *, code: str | None = None, element: str | None = None) -> ErrorInfo:
        return cls(
            code=code or getattr(exc, "code", None) or type(exc).__name__,
            message=str(exc) or type(exc).__name__,
            type=f"{type(exc).__module__}.{type(exc).__qualname__}",
            element=element,
        )


class OutcomeStatus(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    #: The step cannot finish now; it parks its token on ``Outcome.wait`` and resumes when that resolves.
    SUSPENDED = "suspended"


@attrs.frozen
class Outcome:
    """The result of executing a step, or of a wait resolving."""

    status: OutcomeStatus = OutcomeStatus.COMPLETED
    output: Any = None
    error: ErrorInfo | None = None
    usage: Usage = NO_USAGE
    wait: WaitSpec | None = None
    #: For wait resolutions: the wait's key (boundary event id, choice option, message name).
    trigger: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is OutcomeStatus.COMPLETED

    @classmethod
    def failure(cls, code: str, message: str, **kw: Any) -> Outcome:
        return cls(status=OutcomeStatus.FAILED, error=ErrorInfo(code=code, message=message, **kw))


#: A completed outcome with nothing to report: no output, usage or error (a no-op step's).
DONE = Outcome()
