"""The Strategy contract and what a strategy gets to work with."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import attrs

from vrooli_core.execution.safety import SafetyPoint
from vrooli_core.model import NO_USAGE, Graph, Outcome, StepDef, StepKind, Token, Usage

if TYPE_CHECKING:
    from vrooli_core.clock import Clock
    from vrooli_core.execution.tools import ToolSpec


class StepServices(Protocol):
    """What the engine lends a running step (implemented by the engine)."""

    async def safety(self, ctx: StepContext, point: SafetyPoint, value: Any, tool: str | None = None) -> Any: ...
    def publish(self, ctx: StepContext, payload: Any) -> None: ...
    async def substep(self, ctx: StepContext, name: str, inputs: Any) -> None: ...
    async def substep_done(self, ctx: StepContext, name: str, outcome: Outcome) -> None: ...
    async def charge(self, ctx: StepContext, usage: Usage, what: str, detail: Mapping[str, Any]) -> None: ...
    async def note(self, ctx: StepContext, payload: Any) -> None: ...


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
    #: What the step charged so far (``charge``).
    charged: Usage = NO_USAGE

    async def check(self, point: SafetyPoint, value: Any, *, tool: str | None = None) -> Any:
        """Run the safety checks of ``point`` on ``value``: returns it (possibly redacted), or raises
        ``SafetyDenied`` / ``ApprovalRequired``. ``tool``: at ``before_tool_call``, the tool about to
        be called (checks that grant tools need it)."""
        return await self.services.safety(self, point, value, tool)

    async def charge(self, usage: Usage, *, what: str = "model", detail: Mapping[str, Any] | None = None) -> None:
        """Report usage as it happens (after each model call): it is counted in the run's usage at
        once, so the run's cost and credit limits stop the run in the middle of a step, and a step
        that fails or stops later has still paid; the ``usage.charged`` event is stored with the
        run's next commit (the step's completion at the latest). When a limit is reached this
        raises (the step stops; the run fails or pauses, as its limits say).

        The step's outcome still reports its whole usage; the engine records only what was not
        charged."""
        self.charged = self.charged + usage
        await self.services.charge(self, usage, what, detail or {})

    async def note(self, payload: Any) -> None:
        """Record a fact about how this step executed (an attrs payload registered with
        ``vrooli_core.model.events.event_type``: the isolation a sandbox had, the model that
        answered): stored in the run's history with its next commit, published to subscribers then.
        It changes nothing in the run's state."""
        await self.services.note(self, payload)

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
        """Execute ``ctx.step`` with ``ctx.inputs``.

        A strategy that holds resources across steps (an HTTP client, a model router, a server
        process) may define ``async def aclose(self)``: the engine calls it once when it closes."""
