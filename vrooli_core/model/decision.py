"""Decisions: a navigator's answer to a movement question."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from vrooli_core.model.empty import EMPTY
from vrooli_core.model.outcome import ErrorInfo
from vrooli_core.model.tokens import NewToken
from vrooli_core.model.waits import WaitKind, WaitSpec


@attrs.frozen
class Emit:
    """A message or signal a decision throws (a BPMN throw or end event); delivered after it is recorded."""

    kind: WaitKind
    name: str
    payload: Any = None
    correlation: str | None = None


@attrs.frozen
class Decision:
    """What should happen next. The token a ``next`` call was about is always consumed.

    The engine records the decision as an event, then applies it: writes ``variables`` and ``state``,
    cancels ``cancel`` tokens, creates ``create`` tokens (ready, or parked on their waits) and registers
    ``waits`` on existing tokens. A run with no live token left completes; ``complete`` completes it
    at once (cancelling what is left, like a terminate end event) and ``error`` fails it.
    """

    create: tuple[NewToken, ...] = ()
    cancel: tuple[str, ...] = ()
    waits: tuple[WaitSpec, ...] = ()
    variables: Mapping[str, Any] = EMPTY
    #: Updates to the navigator's private, engine-persisted state.
    state: Mapping[str, Any] = EMPTY
    #: Keys to remove from the navigator state.
    forget: tuple[str, ...] = ()
    complete: bool = False
    #: Outputs of the run when it completes; by default the variables the routine declares as outputs.
    outputs: Mapping[str, Any] | None = None
    error: ErrorInfo | None = None
    #: Messages and signals to deliver (to this run and others) once the decision is recorded.
    emit: tuple[Emit, ...] = ()


NOTHING = Decision()


def goto(*locations: str, **variables: Any) -> Decision:
    """A decision that moves on to ``locations`` (one token each) and writes ``variables``."""
    return Decision(create=tuple(NewToken(loc) for loc in locations), variables=variables)
