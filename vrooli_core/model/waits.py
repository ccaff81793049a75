"""Waits: what a token (or a whole run) is waiting for."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import attrs

from vrooli_core.model.empty import EMPTY


class WaitKind(StrEnum):
    #: A person must complete a task (a form, an approval, a review).
    HUMAN = "human"
    #: A path choice the navigator offered; answered by the engine's path-selection policy or a person.
    CHOICE = "choice"
    MESSAGE = "message"
    SIGNAL = "signal"
    TIMER = "timer"
    #: An expression over run variables that becomes true.
    CONDITION = "condition"
    #: A child run must finish.
    SUBRUN = "subrun"
    #: Parks a token until the navigator itself cancels it (a subprocess waiting for its inside).
    INTERNAL = "internal"
    #: Not a wait of a token: a message or signal the run threw that is not delivered yet (the
    #: engine's outbox; ``key`` says which, ``payload`` is what is delivered).
    OUTBOX = "outbox"


@attrs.frozen
class WaitSpec:
    """A wait a navigator (or a step) asks the engine to register.

    Blocking waits park their token: when one resolves the token moves on through ``Navigator.next``
    with the resolution as outcome, and every other wait of that token is dropped (an event-based
    gateway is one token with several blocking waits). Non-blocking waits are attached to a token that
    keeps running (boundary events); their resolution goes to ``Navigator.on_event``. Every wait of a
    token is dropped when the token is consumed or cancelled.
    """

    kind: WaitKind
    #: Message or signal name, task title, or child run id.
    name: str = ""
    blocking: bool = True
    #: Navigator-defined label handed back in ``Outcome.trigger`` (e.g. the boundary event's id).
    key: str = ""
    #: Message correlation key.
    correlation: str | None = None
    #: Timer due time (epoch seconds on the engine clock) ...
    due: float | None = None
    #: ... or seconds after the wait is registered (the engine sets ``due`` from the event's time).
    delay: float | None = None
    #: Condition expression over run variables.
    condition: str | None = None
    #: Path choices (CHOICE) or allowed answers (HUMAN).
    options: tuple[str, ...] = ()
    #: Task details: description, a JSON schema of the expected answer, anything a UI needs.
    form: Mapping[str, Any] = EMPTY
    assignee: str | None = None
    #: For waits registered on an existing token through ``Decision.waits``.
    token: str | None = None
    #: OUTBOX: the message's or signal's payload.
    payload: Any = None


@attrs.frozen
class Wait:
    """A registered wait, as storage indexes it (human tasks are the HUMAN and CHOICE waits)."""

    id: str
    run_id: str
    token: str
    spec: WaitSpec
    created_at: float = 0.0
