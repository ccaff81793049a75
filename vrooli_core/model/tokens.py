"""Tokens: the positions of a run."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from vrooli_core.model.empty import EMPTY
from vrooli_core.model.waits import WaitSpec


@attrs.frozen
class Token:
    """A live position in a run. Ids are assigned by the engine, in order, so replays give the same ids."""

    id: str
    location: str
    #: The token of the enclosing scope (a subprocess, a multi-instance body), if any.
    scope: str | None = None
    #: Token-local data the navigator needs (a loop counter, a multi-instance element).
    data: Mapping[str, Any] = EMPTY
    #: Variables only this token's steps see, over the run's (a multi-instance element variable).
    locals: Mapping[str, Any] = EMPTY


@attrs.frozen
class NewToken:
    """A token a decision creates: ready at ``location``, or parked on ``wait``."""

    location: str
    scope: str | None = None
    data: Mapping[str, Any] = EMPTY
    locals: Mapping[str, Any] = EMPTY
    wait: WaitSpec | None = None
    #: Further waits parked on the same token (an event-based gateway waits on several).
    also_wait: tuple[WaitSpec, ...] = ()
