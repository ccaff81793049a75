"""One behaviour test per hookspec: a plugin implementing the hook changes what an engine does."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import attrs
import cattrs
import pytest

from vrooli_core import Engine, hookimpl, tool
from vrooli_core.analysis import Analyzer, Finding, History
from vrooli_core.config import Config
from vrooli_core.engine import Navigator, PathSelector, RunView
from vrooli_core.execution import ALLOW, Deny, SafetyCheck, SafetyPoint, SafetyRequest, StepContext, Strategy, ToolSpec
from vrooli_core.execution.safety import SafetyResult
from vrooli_core.model import (
    Decision,
    Graph,
    Outcome,
    RoutineDef,
    RoutineSource,
    RunStatus,
    StepDef,
    StepKind,
    Token,
    Wait,
    goto,
)
from vrooli_core.plugins import PluginHost
from vrooli_core.storage.memory import MemoryStorage

pytestmark = pytest.mark.anyio


@tool
def shout(text: str = "hi") -> dict[str, str]:
    return {"text": text.upper()}


def flow(text: str, name: str = "t") -> RoutineSource:
    return RoutineSource(text, f"{name}.flow.toml")


class TwoSteps(Navigator):
    """``*.two``: every routine is the tool step ``shout`` followed by an end."""

    name: ClassVar[str] = "two"
    suffixes: ClassVar[tuple[str, ...]] = (".two",)

    def load(self, source: RoutineSource) -> Graph:
        steps = {"shout": StepDef("shout", StepKind.TOOL, config={"tool": "shout"}), "end": StepDef("end")}
        return Graph(RoutineDef("two", self.name, source.content_hash), steps)

    def start(self, graph: Graph, view: RunView) -> Decision:
        return goto("shout")

    def next(self, graph: Graph, view: RunView, token: Token, outcome: Outcome) -> Decision:
        return goto("end") if token.location == "shout" else Decision()


async def test_vrooli_register_navigators(memory_store_url: str) -> None:
    class NavigatorPlugin:
        @hookimpl
        def vrooli_register_navigators(self) -> Iterable[type[Navigator]]:
            return [TwoSteps]

    host = PluginHost.create(load_entrypoints=False)
    host.register(NavigatorPlugin(), "two")
    async with Engine.open(memory_store_url, host=host, tools=[shout]) as engine:
        run = await engine.run(RoutineSource("anything", "r.two"), {"text": "hey"})
    assert run.status is RunStatus.COMPLETED and run.outputs == {"text": "HEY"}
    assert run.routine.format == "two"


async def test_vrooli_register_strategies(vrooli_host: PluginHost, memory_store_url: str) -> None:
    class Reverse(Strategy):
        name: ClassVar[str] = "reverse"
        kinds: ClassVar[frozenset[StepKind]] = frozenset({StepKind.CODE})

        async def execute(self, ctx: StepContext) -> Any:
            return {"text": ctx.inputs["text"][::-1]}

    class StrategyPlugin:
        @hookimpl
        def vrooli_register_strategies(self) -> Iterable[type[Strategy]]:
            return [Reverse]

    vrooli_host.register(StrategyPlugin(), "reverse")
    code = '[steps.flip]\nkind = "code"\nin = {text = "text"}\n'
    async with Engine.open(memory_store_url, host=vrooli_host) as engine:
        run = await engine.run(flow(code), {"text": "abc"})
    assert run.status is RunStatus.COMPLETED and run.outputs == {"text": "cba"}


async def test_vrooli_register_safety_checks(vrooli_host: PluginHost, memory_store_url: str) -> None:
    class NoShouting(SafetyCheck):
        name: ClassVar[str] = "no-shouting"
        points: ClassVar[frozenset[SafetyPoint]] = frozenset({SafetyPoint.BEFORE_TOOL_CALL})

        async def check(self, request: SafetyRequest) -> SafetyResult:
            return Deny("too loud") if request.step and request.step.config.get("tool") == "shout" else ALLOW

    class SafetyPlugin:
        @hookimpl
        def vrooli_register_safety_checks(self) -> Iterable[type[SafetyCheck]]:
            return [NoShouting]

    vrooli_host.register(SafetyPlugin(), "calm")
    routine = flow('[steps.s]\nkind = "tool"\ntool = "shout"\n')
    async with Engine.open(memory_store_url, host=vrooli_host, tools=[shout]) as engine:
        denied = await engine.run(routine)
        checked = [e.payload for e in await engine.history(denied.id) if e.type == "safety.checked"]
    assert denied.status is RunStatus.FAILED and denied.error is not None and denied.error.code == "safety_denied"
    assert [(c.check, c.action, c.reason) for c in checked] == [("no-shouting", "deny", "too loud")]
    async with Engine.open(memory_store_url, host=vrooli_host, tools=[shout], safety_checks=[]) as engine:
        assert (await engine.run(routine)).status is RunStatus.COMPLETED, (
            "an explicit empty list disables registered checks"
        )


async def test_vrooli_register_storage_backends(vrooli_host: PluginHost) -> None:
    opened: list[str] = []

    class Scratch(MemoryStorage):
        name: ClassVar[str] = "scratch"
        schemes: ClassVar[tuple[str, ...]] = ("scratch",)

        async def open(self) -> None:
            opened.append(type(self).__name__)

    class StoragePlugin:
        @hookimpl
        def vrooli_register_storage_backends(self) -> Iterable[type[MemoryStorage]]:
            return [Scratch]

    vrooli_host.register(StoragePlugin(), "scratch")
    async with Engine.open("scratch://", host=vrooli_host, tools=[shout]) as engine:
        assert isinstance(engine.storage, Scratch)
        run = await engine.run(flow('[steps.s]\nkind = "tool"\ntool = "shout"\n'))
    assert run.status is RunStatus.COMPLETED and opened == ["Scratch"]


async def test_vrooli_register_analyzers(vrooli_host: PluginHost, memory_store_url: str) -> None:
    class CountRuns(Analyzer):
        name: ClassVar[str] = "count-runs"

        async def analyze(self, history: History, routine_id: str | None = None) -> Iterable[Finding]:
            runs = await history.runs(routine_id)
            return [Finding("volume", f"{len(runs)} runs", routine_id or "*", data={"runs": len(runs)})]

    class AnalyzerPlugin:
        @hookimpl
        def vrooli_register_analyzers(self) -> Iterable[type[Analyzer]]:
            return [CountRuns]

    vrooli_host.register(AnalyzerPlugin(), "counting")
    async with Engine.open(memory_store_url, host=vrooli_host) as engine:
        for _ in range(3):
            await engine.run(flow('id = "noop"\n[steps.s]\n'))
        analyzer = vrooli_host.analyzers()["count-runs"]()
        [finding] = await analyzer.analyze(History(engine.storage), "noop")
    assert finding.data == {"runs": 3}


async def test_vrooli_register_tools(vrooli_host: PluginHost, memory_store_url: str) -> None:
    def whisper(text: str) -> dict[str, str]:
        return {"text": text.lower()}

    spec = ToolSpec("whisper", whisper, parameters={"type": "object", "properties": {"text": {"type": "string"}}})

    class ToolPlugin:
        @hookimpl
        def vrooli_register_tools(self) -> Iterable[Any]:
            return [shout, spec]

    vrooli_host.register(ToolPlugin(), "voices")
    assert {"shout", "whisper"} <= set(vrooli_host.tools())
    routine = flow('[steps.a]\nkind = "tool"\ntool = "shout"\nnext = "b"\n[steps.b]\nkind = "tool"\ntool = "whisper"\n')
    async with Engine.open(memory_store_url, host=vrooli_host) as engine:  # no tools= : they come from the plugin
        run = await engine.run(routine, {"text": "MiXeD"})
    assert run.status is RunStatus.COMPLETED and run.outputs == {"text": "mixed"}


CHOICE = """
[steps.pick]
choose = [{if = "False", next = "left"}, {if = "False", next = "right"}]
[steps.left]
[steps.right]
"""


async def test_vrooli_register_path_selectors(vrooli_host: PluginHost, memory_store_url: str) -> None:
    asked: list[tuple[str, ...]] = []

    class Last(PathSelector):
        name: ClassVar[str] = "last"

        async def select(self, wait: Wait, options: tuple[str, ...], variables: Mapping[str, Any]) -> str | None:
            asked.append(options)
            return options[-1] if variables.get("decide") else None

    class SelectorPlugin:
        @hookimpl
        def vrooli_register_path_selectors(self) -> Iterable[type[PathSelector]]:
            return [Last]

    vrooli_host.register(SelectorPlugin(), "last")
    async with Engine.open(memory_store_url, host=vrooli_host, path_policy="model") as engine:
        decided = await engine.run(flow(CHOICE), {"decide": True})
        steps = [e.payload.step for e in await engine.history(decided.id) if e.type == "step.completed"]
        undecided = await engine.run(flow(CHOICE), {"decide": False})
        tasks = await engine.tasks(undecided.id)
    assert decided.status is RunStatus.COMPLETED and steps[-1] == "right"
    assert undecided.status is RunStatus.WAITING and [t.spec.options for t in tasks] == [("left", "right")]
    assert asked == [("left", "right"), ("left", "right")]


def test_vrooli_configure() -> None:
    received: dict[str, Mapping[str, Any]] = {}

    class Configurable:
        def __init__(self, name: str) -> None:
            self.name = name

        @hookimpl
        def vrooli_configure(self, config: Config) -> None:
            received[self.name] = config.plugin(self.name)

    host = PluginHost.create(load_entrypoints=False)
    host.register(Configurable("early"), "early")
    host.configure(Config.from_mapping({"plugins": {"early": {"level": 1}, "late": {"level": 2}}}))
    host.register(Configurable("late"), "late")  # historic: a plugin registered later is configured too
    assert received == {"early": {"level": 1}, "late": {"level": 2}}


@attrs.frozen
class Money:
    cents: int
    currency: str


async def test_vrooli_configure_converter(vrooli_host: PluginHost, memory_store_url: str) -> None:
    class MoneyPlugin:
        @hookimpl
        def vrooli_configure_converter(self, converter: cattrs.Converter) -> None:
            converter.register_unstructure_hook(Money, lambda m: f"{m.cents / 100:.2f} {m.currency}")
            converter.register_structure_hook(Money, lambda s, _: Money(round(float(s.split()[0]) * 100), s.split()[1]))

    @tool
    def price() -> dict[str, Any]:
        return {"price": Money(1250, "EUR")}

    vrooli_host.register(MoneyPlugin(), "money")
    async with Engine.open(memory_store_url, host=vrooli_host, tools=[price]) as engine:
        assert engine.converter.structure(engine.converter.unstructure(Money(99, "USD")), Money) == Money(99, "USD")
        run = await engine.run(flow('[steps.s]\nkind = "tool"\ntool = "price"\n'))
        [done] = [e.payload for e in await engine.history(run.id) if e.type == "step.completed"]
    assert run.status is RunStatus.COMPLETED
    assert done.outcome.output == {"price": "12.50 EUR"}, "the verifying store wrote the value with the plugin's hook"
