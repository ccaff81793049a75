"""Path selection: how the engine answers a choice a navigator offers."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, ClassVar

from vrooli_core.model import Wait


class PathPolicy(StrEnum):
    #: Take the first option the navigator lists.
    FIRST = "first"
    #: Ask a person: the choice becomes a human decision task.
    MANUAL = "manual"
    #: Ask a registered :class:`PathSelector` (a model); a person when it gives no valid answer.
    MODEL = "model"


class PathSelector(abc.ABC):
    """Chooses among the options of a path choice, e.g. with a model call."""

    name: ClassVar[str]

    @abc.abstractmethod
    async def select(self, wait: Wait, options: tuple[str, ...], variables: Mapping[str, Any]) -> str | None:
        """Return one of ``options``, or ``None`` to hand the choice to a person."""
