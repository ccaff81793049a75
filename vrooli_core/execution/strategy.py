"""The Strategy contract and what a strategy gets to work with."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import attrs

from vrooli_core.execution.safety import SafetyPoint
from vrooli_core.model import Graph, Outcome, StepDef, StepKind, Token

if TYPE_CHECKING:
    from vrooli_core.clock import Clock
    from vrooli_core.execution.tools import ToolSpec


class StepServices(Protocol):
    """What the engine lends a running step (implemented by the engine)."""

    async def safety(self, ctx: StepContext, point: SafetyPoint, value: Any) -> Any: ...
    def publish(self, ctx: StepContext, payload: Any) -> None: ...
    async def substep(self, ctx: StepContext, name: str, inputs: Any) -> None: ...
    async def substep_done(self, ctx: StepContext, name: str, outcome: Outcome) -> None: ...


@attrs.define(slots=True, eq=False)
class StepContext:
    """Everything a strategy (or a delegating navigator) needs to execute one step."""

    run_id: str
    token: Token
    step: StepDef
    inputs: Any
    attempt: int
    #: ``run:token:step:attempt`` — the same for a step re-executed after a crash, so tools with side
    #: effects can recognise the one call that was in flight.
    idempotency_key: str
    variables: Mapping[str, Any]
    tools: Mapping[str, ToolSpec]
    clock: Clock
    graph: Graph
    labels: Mapping[str, str]
    services: StepServices

    async def check(self, point: SafetyPoint, value: Any) -> Any:
        """Run the safety checks of ``point`` on ``value``: returns it (possibly redacted), or raises
        ``SafetyDenied`` / ``ApprovalRequired``."""
        return await self.services.safety(self, point, value)

    def publish(self, payload: Any) -> None:
        """Publish a transient event (a streamed model token) to subscribers; it is not stored."""
        self.services.publish(self, payload)

    @asynccontextmanager
    async def substep(self, name: str, inputs: Any = None) -> AsyncIterator[SubstepResult]:
        """Report a foreign step (delegating navigators): limits and ``before_step`` checks apply on
        entry (raising when one stops the run), and its outcome is recorded on exit."""
        await self.services.substep(self, name, inputs)
        result = SubstepResult()
        try:
            yield result
        except BaseException as exc:
            await self.services.substep_done(self, name, Outcome.failure(type(exc).__name__, str(exc)))
            raise
        await self.services.substep_done(self, name, Outcome(output=result.output, usage=result.usage))


@attrs.define
class SubstepResult:
    output: Any = None
    usage: Any = attrs.field(factory=lambda: Outcome().usage)


class Strategy(abc.ABC):
    """Executes one step. ``execute`` returns an :class:`Outcome` or a plain value (its output);
    an exception becomes a failed outcome whose code is the exception's ``code`` attribute or type."""

    name: ClassVar[str]
    #: Step kinds this strategy runs when a step names no strategy of its own.
    kinds: ClassVar[frozenset[StepKind]] = frozenset()
    #: ``False`` declares that executing a step affects nothing outside the run: the strategy computes
    #: the output in-process from the inputs (a script, an expression) and calls nothing that sees the
    #: idempotency key. Nobody needs to know such a step is in flight, so the engine records its
    #: first attempt once, when it completes, instead of ``step.started`` and then
    #: ``step.completed``. A crash mid-step re-executes it with the same attempt and key either way.
    side_effects: ClassVar[bool] = True

    @abc.abstractmethod
    async def execute(self, ctx: StepContext) -> Outcome | Any:
        """Execute ``ctx.step`` with ``ctx.inputs``."""
