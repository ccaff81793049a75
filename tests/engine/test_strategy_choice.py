"""The strategy chosen for a step is recorded on its ``step.started`` event."""

from __future__ import annotations

from typing import ClassVar

import pytest
from _util import flow, payloads

from vrooli_core import Engine, tool
from vrooli_core.execution.strategy import StepContext, Strategy
from vrooli_core.model import RunStatus
from vrooli_core.plugins import hookimpl

pytestmark = pytest.mark.anyio


@tool
def shout(text: str) -> str:
    return text.upper()


class FakeReasoning(Strategy):
    name: ClassVar[str] = "reasoning"

    async def execute(self, ctx: StepContext) -> str:
        return "thought"


class Plugin:
    @hookimpl
    def vrooli_register_tools(self) -> list:
        return [shout]

    @hookimpl
    def vrooli_register_strategies(self) -> list:
        return [FakeReasoning]


FLOW = """
id = "choice"
start = "call"
[steps.call]
kind = "tool"
tool = "shout"
args = {text = "hi"}
next = "think"
[steps.think]
kind = "model"
config = {tools = ["shout"]}
next = "wait"
[steps.wait]
kind = "human"
"""


async def test_the_chosen_strategy_is_recorded_when_a_step_starts(host, store):
    host.register(Plugin(), "choice")
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(FLOW))
        assert run.status is RunStatus.WAITING
        started = {e.step: e.strategy for e in payloads(await engine.history(run.id), "step.started")}
    # By kind (a tool step), resolved from ``auto`` (a model step with tools reasons), and none for
    # the engine's own human step.
    assert started == {"call": "deterministic", "think": "reasoning", "wait": None}


class Chooser:
    def __init__(self, answer):
        self.answer = answer
        self.asked = []

    @hookimpl
    def vrooli_choose_strategy(self, step, strategies):
        self.asked.append((step.id, tuple(strategies)))
        return self.answer


async def test_a_plugin_chooses_the_strategy_of_auto_steps(host, store):
    host.register(Plugin(), "choice")
    host.register(Chooser("deterministic"), "chooser")
    host.register(Chooser(None), "abstains")  # registered later: asked first, and passes
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(FLOW))
        started = {e.step: e.strategy for e in payloads(await engine.history(run.id), "step.started")}
    # The model step went to the plugin's choice (it fails there: deterministic needs a tool).
    assert started["think"] == "deterministic"
    assert run.status is RunStatus.FAILED


async def test_a_plugin_that_abstains_leaves_the_default(host, store):
    host.register(Plugin(), "choice")
    abstains = Chooser(None)
    host.register(abstains, "abstains")
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(FLOW))
        started = {e.step: e.strategy for e in payloads(await engine.history(run.id), "step.started")}
    assert started["think"] == "reasoning"
    asked = dict(abstains.asked)
    assert {"call", "think"} <= set(asked) and {"deterministic", "reasoning"} <= set(asked["think"])


async def test_a_plugin_choosing_an_unknown_strategy_fails_the_step_by_name(host, store):
    host.register(Plugin(), "choice")
    host.register(Chooser("telepathy"), "bad")
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(FLOW))
    assert run.status is RunStatus.FAILED
    # It is asked for every step that names no strategy: the first one fails.
    assert "telepathy" in run.error.message and run.error.element == "call"


async def test_strategies_are_closed_with_the_engine_even_when_one_fails_to(host, store):
    closed: list[str] = []

    class Holding(FakeReasoning):
        name: ClassVar[str] = "holding"

        async def aclose(self) -> None:
            closed.append(self.name)

    class Broken(Holding):
        name: ClassVar[str] = "broken"

        async def aclose(self) -> None:
            closed.append(self.name)
            raise RuntimeError("cannot close")

    class Holders:
        @hookimpl
        def vrooli_register_strategies(self) -> list:
            return [Broken, Holding]

    host.register(Holders(), "holders")
    async with Engine.open(store, host=host):
        assert closed == []
    assert sorted(closed) == ["broken", "holding"]
