"""Routine definitions: what a navigator's ``load`` produces."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import attrs

from vrooli_core.model.empty import EMPTY


class StepKind(StrEnum):
    """What a step does; the executor picks how to run it from this and the step's strategy."""

    MODEL = "model"
    TOOL = "tool"
    CODE = "code"
    API = "api"
    HUMAN = "human"
    SUBROUTINE = "subroutine"
    NOOP = "noop"
    #: Executed by a delegating navigator's own runtime (``Navigator.execute``).
    DELEGATE = "delegate"


@attrs.frozen
class RoutineSource:
    """The raw text of a routine, with where it came from (for error messages)."""

    text: str
    path: str | None = None
    #: Navigator name, when the caller knows it; otherwise navigators are asked to claim the source.
    format: str | None = None

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


@attrs.frozen
class IOMapping:
    """How a step's inputs are read from run variables and its outputs written back.

    ``inputs`` maps a parameter name to a variable path (``order.total``), an ``=expression`` in the
    kernel's sandbox, or a callable taking the variables (a navigator's compiled expression); ``None``
    passes every variable.
    ``outputs`` maps a variable name to a path in the step's output (``""`` is the whole output); ``None``
    merges an output mapping into the variables and ignores other outputs.
    """

    inputs: Mapping[str, str] | None = None
    outputs: Mapping[str, str] | None = None


@attrs.frozen
class RetryPolicy:
    """How often a failing step is retried before its failure reaches the navigator."""

    max_attempts: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    #: Seconds before the second attempt; doubled for every further one (on the engine's clock).
    backoff: float = 0.0
    #: Error codes that are retried; empty means every error.
    retry_on: tuple[str, ...] = ()


@attrs.frozen
class StepDef:
    """One executable location of a routine."""

    id: str
    kind: StepKind = StepKind.NOOP
    name: str = ""
    #: conversational / reasoning / deterministic / auto, or the name of a registered strategy.
    strategy: str | None = None
    config: Mapping[str, Any] = EMPTY
    io: IOMapping = IOMapping()
    timeout: float | None = None
    retry: RetryPolicy = RetryPolicy()
    #: Source line of the element that defines the step, for messages.
    line: int | None = None


@attrs.frozen
class RoutineDef:
    """Identity and interface of a routine version."""

    id: str
    format: str
    content_hash: str
    #: Declared by the source, or assigned by the engine when the routine is registered.
    version: str = ""
    name: str = ""
    description: str = ""
    #: JSON schemas of the run's inputs and outputs.
    inputs: Mapping[str, Any] = EMPTY
    outputs: Mapping[str, Any] = EMPTY


@attrs.frozen
class RoutineWarning:
    """Something a navigator's lint pass found that does not prevent loading."""

    message: str
    element: str | None = None
    line: int | None = None


@attrs.frozen
class Graph:
    """A loaded routine: its definition, its steps and the navigator's own parsed model."""

    routine: RoutineDef
    steps: Mapping[str, StepDef]
    #: Navigator-private; never serialised (a run refers to the routine version and re-loads it).
    data: Any = None
    warnings: tuple[RoutineWarning, ...] = ()
