"""The fakes: clock, scripted model strategy, verifying storage, step services and contexts."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, ClassVar

import pytest

import vrooli_core.clock
import vrooli_core.testing
from vrooli_core import Engine, FakeClock, tool
from vrooli_core.errors import StorageError
from vrooli_core.execution import ALLOW, Deny, Executor, Redact, SafetyCheck, SafetyPoint, SafetyRequest
from vrooli_core.execution.safety import ApprovalRequired, RequireApproval, SafetyDenied, SafetyResult
from vrooli_core.model import Limits, Outcome, OutcomeStatus, RoutineSource, RunStatus, StepDef, StepKind, Usage
from vrooli_core.plugins import PluginHost
from vrooli_core.storage.base import Commit
from vrooli_core.testing.conformance import _storage_data as data
from vrooli_core.testing.fakes import (
    FakeModelStrategy,
    FakeStepServices,
    ModelReply,
    ScriptExhaustedError,
    fake_storage,
    step_context,
)
from vrooli_core.testing.hosts import CapabilityPlugin

Register = Callable[[PluginHost, object, str], AbstractContextManager[str]]

ASK_TWICE = """
id = "ask"
start = "first"
[steps.first]
kind = "model"
config = {prompt = "Capital of {country}?"}
in = {country = "country"}
out = {capital = ""}
next = "second"
[steps.second]
kind = "model"
strategy = "reasoning"
in = {city = "capital"}
out = {fact = "fact"}
next = "third"
[steps.third]
kind = "model"
out = {summary = ""}
"""

MODEL_STEP = StepDef("ask", kind=StepKind.MODEL, config={"prompt": "hi"})


def test_fake_clock_is_the_kernel_clock(fake_clock: FakeClock) -> None:
    assert vrooli_core.testing.FakeClock is vrooli_core.clock.FakeClock is type(fake_clock)
    start = fake_clock.now()
    assert fake_clock.advance(5) == start + 5 == fake_clock.now()
    with pytest.raises(ValueError):
        fake_clock.advance(-1)


@pytest.mark.anyio
async def test_fake_model_answers_in_order_and_records_inputs(
    vrooli_host: PluginHost, registered_plugin: Register, memory_store_url: str
) -> None:
    model = FakeModelStrategy(
        ["Paris", {"fact": "on the Seine"}, "A river city."], usage=Usage(input_tokens=10, output_tokens=2, cost=0.01)
    )
    with registered_plugin(vrooli_host, model.plugin(), "fake-model"):
        async with Engine.open(memory_store_url, host=vrooli_host) as engine:
            run = await engine.run(RoutineSource(ASK_TWICE, "ask.flow.toml"), {"country": "France"})
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.outputs == {"country": "France", "capital": "Paris", "fact": "on the Seine", "summary": "A river city."}
    assert [(c.strategy, c.step, c.inputs) for c in model.calls] == [
        ("conversational", "first", {"country": "France"}),
        ("reasoning", "second", {"city": "Paris"}),
        ("conversational", "third", {"country": "France", "capital": "Paris", "fact": "on the Seine"}),
    ]
    assert model.calls[0].config == {"prompt": "Capital of {country}?"}
    assert (run.usage.model_calls, run.usage.input_tokens, run.usage.output_tokens) == (3, 30, 6)
    assert run.usage.cost == pytest.approx(0.03)
    assert not model.script


@pytest.mark.anyio
async def test_fake_model_usage_lets_cost_limits_stop_a_run(
    vrooli_host: PluginHost, registered_plugin: Register, memory_store_url: str
) -> None:
    model = FakeModelStrategy(default={"fact": "ok"}, usage=Usage(cost=0.01))
    with registered_plugin(vrooli_host, model.plugin(), "fake-model"):
        async with Engine.open(memory_store_url, host=vrooli_host) as engine:
            run = await engine.run(
                RoutineSource(ASK_TWICE, "ask.flow.toml"), {"country": "France"}, limits=Limits(max_cost=0.015)
            )
            limit = [e.payload for e in await engine.history(run.id) if e.type == "limit.reached"]
    assert run.status is RunStatus.FAILED and run.error is not None and run.error.code == "limit_exceeded"
    assert len(model.calls) == 2
    assert [(p.limit, p.action) for p in limit] == [("max_cost", "fail")]


@pytest.mark.anyio
async def test_fake_model_out_of_answers_fails_the_step(
    vrooli_host: PluginHost, registered_plugin: Register, memory_store_url: str
) -> None:
    model = FakeModelStrategy(["only one"])
    with registered_plugin(vrooli_host, model.plugin(), "fake-model"):
        async with Engine.open(memory_store_url, host=vrooli_host) as engine:
            run = await engine.run(RoutineSource(ASK_TWICE, "ask.flow.toml"), {"country": "France"})
    assert run.status is RunStatus.FAILED and run.error is not None
    assert run.error.code == "script_exhausted" and run.error.element == "second"


def test_fake_model_registers_under_both_names() -> None:
    model = FakeModelStrategy(names=("conversational", "reasoning", "custom-model"))
    host = PluginHost.create(load_entrypoints=False)
    host.register(model.plugin(), "fake-model")
    assert {"conversational", "reasoning", "custom-model"} <= set(host.strategies())
    assert host.strategies()["reasoning"] is model.strategy_classes()[1]
    assert all(cls.kinds == {StepKind.MODEL} for cls in model.strategy_classes())


@pytest.mark.anyio
async def test_fake_model_scripted_items() -> None:
    seen: list[str] = []

    def from_context(ctx: Any) -> ModelReply:
        seen.append(ctx.step.id)
        return ModelReply({"echo": ctx.inputs}, Usage(input_tokens=1, output_tokens=1))

    model = FakeModelStrategy(
        [
            ModelReply("priced", Usage(cost=2.0)),
            Outcome.failure("rate_limited", "slow down"),
            RuntimeError("connection reset"),
            from_context,
        ],
        default="fallback",
    )
    executor = Executor({"conversational": model})

    async def ask() -> Outcome:
        return await executor.execute(step_context(MODEL_STEP, {"q": 1}))

    first, second, third, fourth, fifth = [await ask() for _ in range(5)]
    assert (first.output, first.usage.cost, first.usage.model_calls) == ("priced", 2.0, 1)
    assert second.status is OutcomeStatus.FAILED and second.error is not None and second.error.code == "rate_limited"
    assert third.status is OutcomeStatus.FAILED and third.error is not None and third.error.code == "RuntimeError"
    assert fourth.output == {"echo": {"q": 1}} and seen == ["ask"]
    assert fifth.output == "fallback"
    assert fifth.usage.input_tokens >= 1 and fifth.usage.model_calls == 1, (
        "without scripted usage the fake estimates it"
    )
    assert len(model.calls) == 5


@pytest.mark.anyio
async def test_fake_model_passes_the_model_safety_points() -> None:
    class Scrub(SafetyCheck):
        name: ClassVar[str] = "scrub"
        points = frozenset({SafetyPoint.BEFORE_MODEL_CALL, SafetyPoint.AFTER_MODEL_CALL})

        async def check(self, request: SafetyRequest) -> SafetyResult:
            if request.point is SafetyPoint.BEFORE_MODEL_CALL:
                return Redact({k: "***" if k == "ssn" else v for k, v in request.value.items()})
            return Redact(request.value.replace("secret", "[removed]"))

    model = FakeModelStrategy(["the secret answer"])
    services = FakeStepServices([Scrub()])
    outcome = await Executor({"conversational": model}).execute(
        step_context(MODEL_STEP, {"ssn": "123", "name": "Ada"}, services=services)
    )
    assert model.calls[0].inputs == {"ssn": "***", "name": "Ada"}, "the model must only see redacted inputs"
    assert outcome.output == "the [removed] answer"
    assert [p for p, _ in services.safety_calls] == [
        SafetyPoint.BEFORE_STEP,
        SafetyPoint.BEFORE_MODEL_CALL,
        SafetyPoint.AFTER_MODEL_CALL,
        SafetyPoint.AFTER_STEP,
    ]


@pytest.mark.anyio
async def test_fake_step_services_follow_engine_semantics() -> None:
    class Const(SafetyCheck):
        points = frozenset({SafetyPoint.BEFORE_TOOL_CALL})

        def __init__(self, name: str, result: SafetyResult) -> None:
            self.name = name  # type: ignore[misc]
            self.result = result

        async def check(self, request: SafetyRequest) -> SafetyResult:
            return self.result

    ctx = step_context(StepDef("s", kind=StepKind.TOOL))
    chain = FakeStepServices([Const("a", Redact(1)), Const("b", ALLOW), Const("c", Redact(2))])
    assert await chain.safety(ctx, SafetyPoint.BEFORE_TOOL_CALL, 0) == 2
    assert await chain.safety(ctx, SafetyPoint.BEFORE_STEP, 0) == 0, "checks are only consulted at their points"
    assert [r[0] for r in chain.safety_results] == ["a", "c"]
    deny_first = FakeStepServices([Const("d", Deny("no")), Const("e", RequireApproval("ask"))])
    with pytest.raises(SafetyDenied, match="no"):
        await deny_first.safety(ctx, SafetyPoint.BEFORE_TOOL_CALL, 0)
    with pytest.raises(ApprovalRequired, match="ask"):
        await FakeStepServices([Const("e", RequireApproval("ask"))]).safety(ctx, SafetyPoint.BEFORE_TOOL_CALL, 0)
    services = FakeStepServices()
    ctx = step_context(StepDef("s", kind=StepKind.DELEGATE), services=services)
    ctx.publish({"chunk": "Hel"})
    async with ctx.substep("inner", {"x": 1}) as sub:
        sub.output = "done"
    assert services.published == [{"chunk": "Hel"}]
    assert [(n, i) for n, i, _ in services.substeps] == [("inner", {"x": 1}), ("inner", None)]
    assert services.substeps[1][2] == Outcome(output="done")


@tool
def shout(text: str) -> str:
    return text.upper()


def test_step_context_defaults() -> None:
    ctx = step_context(
        StepDef("s", kind=StepKind.TOOL, config={"tool": "shout"}),
        {"text": "hi"},
        tools=[shout],
        run_id="r9",
        attempt=2,
    )
    assert ctx.idempotency_key == "r9:t1:s:2"
    assert ctx.tools["shout"].name == "shout" and ctx.variables == {"text": "hi"}
    assert ctx.graph.steps == {"s": ctx.step} and ctx.token.location == "s"
    assert isinstance(ctx.services, FakeStepServices)


@pytest.mark.anyio
async def test_fake_storage_verifies_and_shares() -> None:
    store = fake_storage()
    assert store.verify
    await store.commit(Commit("r", (data.created("r"),), data.run("r")))
    with pytest.raises(TypeError):
        await store.commit(Commit("r", (data.filler("r", 2),), data.run("r", labels={"x": object()})))  # type: ignore[dict-item]
    with pytest.raises(StorageError):
        await store.put_routine(data.stored_routine("a", "1", "x")) or await store.put_routine(
            data.stored_routine("a", "1", "y")
        )
    name = "test-fakes-shared"
    try:
        one, two = fake_storage(shared=name), fake_storage(shared=name)
        await one.put_doc("c", "d", {"x": 1})
        assert dict(await two.get_doc("c", "d")) == {"x": 1}
    finally:
        from vrooli_core.storage.memory import MemoryStorage

        MemoryStorage.forget(name)


def test_exhausted_error_has_a_code() -> None:
    assert ScriptExhaustedError.code == "script_exhausted"


def test_capability_plugin() -> None:
    with pytest.raises(TypeError, match="unknown capability kind"):
        CapabilityPlugin(widgets=[])
    plugin = CapabilityPlugin(tools=[shout])
    assert repr(plugin) == "<CapabilityPlugin tools>"
    host = PluginHost.create(load_entrypoints=False)
    host.register(plugin, "p")
    assert "shout" in host.tools()
    info = next(i for i in host.plugins() if i.name == "p")
    assert info.hooks == ("vrooli_register_tools",)


def test_vrooli_host_is_fresh_and_has_the_flow_navigator(vrooli_host: PluginHost) -> None:
    assert {i.name for i in vrooli_host.plugins()} == {"builtins", "flow"}
    assert "flow" in vrooli_host.navigators()
    assert "memory" in vrooli_host.storage_backends() and "deterministic" in vrooli_host.strategies()


def test_registered_plugin_unregisters_even_on_error(vrooli_host: PluginHost, registered_plugin: Register) -> None:
    plugin = CapabilityPlugin(tools=[shout])
    with pytest.raises(RuntimeError), registered_plugin(vrooli_host, plugin, "temp") as name:
        assert name == "temp" and "shout" in vrooli_host.tools()
        raise RuntimeError("test body failed")
    assert "shout" not in vrooli_host.tools()
    assert "temp" not in {i.name for i in vrooli_host.plugins()}
    with registered_plugin(vrooli_host, plugin, "temp"):  # the name is free again
        assert "shout" in vrooli_host.tools()


def test_memory_store_url_is_unique_and_verifying(memory_store_url: str, request: pytest.FixtureRequest) -> None:
    assert memory_store_url.startswith("memory://") and memory_store_url.endswith("?verify=1")
    assert request.node.name[:20] in memory_store_url


def test_testing_package_exports_lazily() -> None:
    for name in vrooli_core.testing.__all__:
        assert getattr(vrooli_core.testing, name) is not None
    assert vrooli_core.testing.FakeModelStrategy is FakeModelStrategy
    with pytest.raises(AttributeError, match="no_such_thing"):
        vrooli_core.testing.no_such_thing  # noqa: B018
