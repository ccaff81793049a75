"""Transient events a model step publishes while it runs (never stored)."""

from __future__ import annotations

from typing import ClassVar

import attrs

from vrooli_core.model.events import event_type

__all__ = ["ModelToken"]


@event_type("model.token")
@attrs.frozen
class ModelToken:
    """A piece of streamed model text, published as it arrives (``step.config["stream"] = true``)."""

    type: ClassVar[str]
    step: str
    text: str
