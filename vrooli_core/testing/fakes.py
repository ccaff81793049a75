"""Fakes for tests: a clock, a scripted model strategy, storage that proves it would survive a database,
and step services for calling a strategy without an engine.

Fakes over mocks: each one behaves like the real thing, only predictably and offline.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

import attrs
import cattrs

from vrooli_core.clock import Clock, FakeClock
from vrooli_core.errors import VrooliError
from vrooli_core.execution.safety import SafetyCheck, SafetyPoint, apply_checks
from vrooli_core.execution.strategy import StepContext, Strategy
from vrooli_core.execution.tools import ToolSpec, tool
from vrooli_core.model import Graph, Outcome, RoutineDef, StepDef, StepKind, Token, Usage
from vrooli_core.storage.memory import MemoryStorage
from vrooli_core.testing.hosts import CapabilityPlugin

__all__ = [
    "FakeClock",
    "FakeModelStrategy",
    "FakeStepServices",
    "ModelCall",
    "ModelReply",
    "ScriptExhaustedError",
    "fake_storage",
    "step_context",
]


@attrs.frozen
class ModelReply:
    """One scripted answer of :class:`FakeModelStrategy`, with the usage the call reports."""

    output: Any
    usage: Usage | None = None


@attrs.frozen
class ModelCall:
    """What :class:`FakeModelStrategy` was asked: the step's inputs after ``before_model_call``
    checks (what a real model would have seen)."""

    strategy: str
    run_id: str
    step: str
    inputs: Any
    config: Mapping[str, Any]
    attempt: int


class ScriptExhaustedError(VrooliError):
    """A :class:`FakeModelStrategy` was called more often than it has scripted outputs."""

    code = "script_exhausted"


_NO_DEFAULT: Any = object()

#: A scripted item: a value, a :class:`ModelReply`, an :class:`Outcome` (returned as is), an exception
#: (raised), or a callable taking the :class:`StepContext` and returning one of those.
Scripted = Any


class FakeModelStrategy(Strategy):
    """A strategy for ``model`` steps that answers from a script, in order.

    It passes the step's inputs through the ``before_model_call`` safety checks, records them in
    :attr:`calls`, and passes its answer through ``after_model_call``. Every call reports usage: the
    reply's own, else ``usage``, else an estimate (about four characters per token, cost 0), always
    with at least one model call, so step, token and cost limits can be tested.

    The engine instantiates strategy classes without arguments, so register a fake through
    :meth:`plugin` (or :meth:`strategy_classes`): the classes it returns share this instance's script
    and record::

        model = FakeModelStrategy(["Paris", {"answer": 42}], usage=Usage(cost=0.5))
        with registered_plugin(host, model.plugin(), "fake-model"):
            ...
        assert model.calls[0].inputs == {"question": "capital of France?"}
    """

    name: ClassVar[str] = "conversational"
    kinds: ClassVar[frozenset[StepKind]] = frozenset({StepKind.MODEL})

    def __init__(
        self,
        outputs: Iterable[Scripted] = (),
        *,
        usage: Usage | None = None,
        default: Scripted = _NO_DEFAULT,
        names: Iterable[str] = ("conversational", "reasoning"),
    ) -> None:
        self.script: deque[Scripted] = deque(outputs)
        self.usage = usage
        self.default = default
        self.names = tuple(names)
        self.calls: list[ModelCall] = []
        self._classes: list[type[Strategy]] | None = None

    def add(self, *outputs: Scripted) -> None:
        """Append answers to the script."""
        self.script.extend(outputs)

    async def execute(self, ctx: StepContext) -> Outcome:
        return await self.answer(self.name, ctx)

    async def answer(self, strategy: str, ctx: StepContext) -> Outcome:
        """Answer one call of ``strategy`` (the name the step ran under)."""
        inputs = await ctx.check(SafetyPoint.BEFORE_MODEL_CALL, ctx.inputs)
        self.calls.append(ModelCall(strategy, ctx.run_id, ctx.step.id, inputs, dict(ctx.step.config), ctx.attempt))
        item = self._next(ctx)
        if callable(item) and not isinstance(item, type):
            item = item(ctx)
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, Outcome):
            return item
        reply = item if isinstance(item, ModelReply) else ModelReply(item)
        output = await ctx.check(SafetyPoint.AFTER_MODEL_CALL, reply.output)
        usage = reply.usage or self.usage or _estimate(inputs, output)
        return Outcome(output=output, usage=attrs.evolve(usage, model_calls=max(1, usage.model_calls)))

    def _next(self, ctx: StepContext) -> Scripted:
        if self.script:
            return self.script.popleft()
        if self.default is not _NO_DEFAULT:
            return self.default
        raise ScriptExhaustedError(
            f"the fake model has no scripted answer left for step {ctx.step.id!r} ({len(self.calls)} calls)"
        )

    def strategy_classes(self) -> list[type[Strategy]]:
        """Strategy classes, one per name in ``names``, that answer from this fake (the same classes
        on every call)."""
        if self._classes is None:
            self._classes = self._make_classes()
        return list(self._classes)

    def _make_classes(self) -> list[type[Strategy]]:
        fake = self
        classes: list[type[Strategy]] = []
        for strategy_name in self.names:

            async def execute(self: Strategy, ctx: StepContext) -> Outcome:
                return await fake.answer(self.name, ctx)

            classes.append(
                type(
                    f"FakeModel_{strategy_name.replace('-', '_')}",
                    (Strategy,),
                    {"name": strategy_name, "kinds": self.kinds, "execute": execute, "__module__": __name__},
                )
            )
        return classes

    def plugin(self) -> CapabilityPlugin:
        """A plugin registering :meth:`strategy_classes` (register it on a host, e.g. with
        :func:`~vrooli_core.testing.hosts.registered_plugin`)."""
        return CapabilityPlugin(strategies=self.strategy_classes())


def _estimate(inputs: Any, output: Any) -> Usage:
    def tokens(value: Any) -> int:
        text = value if isinstance(value, str) else json.dumps(value, default=repr, sort_keys=True)
        return max(1, len(text) // 4)

    return Usage(input_tokens=tokens(inputs), output_tokens=tokens(output), model_calls=1)


def fake_storage(converter: cattrs.Converter | None = None, *, shared: str | None = None) -> MemoryStorage:
    """In-memory storage that round-trips everything it stores through JSON (``verify=True``), so a
    test fails where a real database would. ``shared`` names a store other instances can open."""
    if converter is None:
        from vrooli_core.serialization import make_converter

        converter = make_converter()
    return MemoryStorage(converter=converter, shared=shared, verify=True)


class FakeStepServices:
    """The engine's step services without an engine: safety checks with the engine's semantics (the
    first deny or approval wins, redactions chain), and a record of everything a step asked for."""

    def __init__(self, checks: Iterable[SafetyCheck] = ()) -> None:
        self.checks = list(checks)
        #: (point, value as given) for every safety consultation.
        self.safety_calls: list[tuple[SafetyPoint, Any]] = []
        #: (check name, point, action, reason) for every result other than allow.
        self.safety_results: list[tuple[str, SafetyPoint, str, str]] = []
        self.published: list[Any] = []
        #: (name, inputs, outcome) of foreign sub-steps; the outcome is None while one runs.
        self.substeps: list[tuple[str, Any, Outcome | None]] = []
        #: (usage, what, detail) of every ``ctx.charge``.
        self.charges: list[tuple[Usage, str, Mapping[str, Any]]] = []
        #: The payloads of ``ctx.note``.
        self.notes: list[Any] = []

    async def safety(self, ctx: StepContext, point: SafetyPoint, value: Any, tool: str | None = None) -> Any:
        self.safety_calls.append((point, value))

        async def record(check: SafetyCheck, result: Any) -> None:
            self.safety_results.append((check.name, point, result.action, result.reason))

        return await apply_checks(self.checks, ctx, point, value, record=record, tool=tool)

    def publish(self, ctx: StepContext, payload: Any) -> None:
        self.published.append(payload)

    async def substep(self, ctx: StepContext, name: str, inputs: Any) -> None:
        self.substeps.append((name, inputs, None))
        await ctx.check(SafetyPoint.BEFORE_STEP, inputs)

    async def substep_done(self, ctx: StepContext, name: str, outcome: Outcome) -> None:
        self.substeps.append((name, None, outcome))

    async def charge(self, ctx: StepContext, usage: Usage, what: str, detail: Mapping[str, Any]) -> None:
        self.charges.append((usage, what, dict(detail)))

    async def note(self, ctx: StepContext, payload: Any) -> None:
        self.notes.append(payload)


def step_context(
    step: StepDef,
    inputs: Any = None,
    *,
    tools: Iterable[Callable[..., Any] | ToolSpec] = (),
    services: FakeStepServices | None = None,
    run_id: str = "run-1",
    attempt: int = 1,
    variables: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
    clock: Clock | None = None,
    graph: Graph | None = None,
) -> StepContext:
    """A :class:`StepContext` for calling a strategy directly (``await strategy.execute(ctx)``)."""
    specs: dict[str, ToolSpec] = {}
    for fn in tools:
        spec = fn if isinstance(fn, ToolSpec) else _tool_spec(fn)
        specs[spec.name] = spec
    token = Token("t1", step.id)
    return StepContext(
        run_id=run_id,
        token=token,
        step=step,
        inputs={} if inputs is None else inputs,
        attempt=attempt,
        idempotency_key=f"{run_id}:{token.id}:{step.id}:{attempt}",
        variables=dict(variables if variables is not None else inputs if isinstance(inputs, Mapping) else {}),
        tools=specs,
        clock=clock or FakeClock(),
        graph=graph or Graph(RoutineDef(id="test", format="test", content_hash=""), {step.id: step}),
        labels=dict(labels or {}),
        services=services or FakeStepServices(),
    )


def _tool_spec(fn: Callable[..., Any]) -> ToolSpec:
    spec = getattr(fn, "__vrooli_tool__", None) or getattr(tool(fn), "__vrooli_tool__", None)
    if not isinstance(spec, ToolSpec):
        raise TypeError(f"{fn!r} is not a tool")
    return spec
