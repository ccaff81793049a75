"""``StepContext.charge``: usage reported while a step runs is recorded at once, counted once, and
stops the run in the middle of a step when a limit is reached."""

from __future__ import annotations

from typing import ClassVar

import pytest
from _util import flow, payloads

from vrooli_core import Engine
from vrooli_core.execution.strategy import StepContext, Strategy
from vrooli_core.model import Limits, Outcome, RunStatus, Usage
from vrooli_core.plugins import hookimpl

pytestmark = pytest.mark.anyio

CALLS: list[int] = []


class ThreeCalls(Strategy):
    """Makes three "model calls" of 0.4 each, charging each, and reports the whole usage."""

    name: ClassVar[str] = "three-calls"

    async def execute(self, ctx: StepContext) -> Outcome:
        total = Usage()
        for i in range(3):
            CALLS.append(i)
            call = Usage(input_tokens=10, output_tokens=5, cost=0.4, model_calls=1)
            await ctx.charge(call, detail={"model": "fake", "call": i})
            total = total + call
        return Outcome(output={"done": True}, usage=total + Usage(credits=2.0))


class Plugin:
    @hookimpl
    def vrooli_register_strategies(self) -> list:
        return [ThreeCalls]


FLOW = """
id = "charges"
start = "think"
[steps.think]
kind = "model"
strategy = "three-calls"
next = "again"
[steps.again]
kind = "model"
strategy = "three-calls"
"""


@pytest.fixture(autouse=True)
def _calls():
    CALLS.clear()


async def test_charged_usage_is_recorded_per_call_and_counted_once(host, store):
    host.register(Plugin(), "charges")
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(FLOW))
        history = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED
    charges = payloads(history, "usage.charged")
    assert [(c.step, c.detail["call"], c.usage.cost) for c in charges] == [
        ("think", 0, 0.4), ("think", 1, 0.4), ("think", 2, 0.4), ("again", 0, 0.4), ("again", 1, 0.4), ("again", 2, 0.4),
    ]
    # Six calls of 0.4, not twelve; the credits only the outcome reported are counted too.
    assert run.usage.cost == pytest.approx(2.4)
    assert run.usage.model_calls == 6 and run.usage.input_tokens == 60 and run.usage.credits == 4.0
    [first, _] = payloads(history, "step.completed")
    assert first.outcome.usage.cost == 0 and first.outcome.usage.credits == 2.0


async def test_a_limit_reached_by_a_charge_stops_the_run_in_the_middle_of_a_step(host, store):
    host.register(Plugin(), "charges")
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(FLOW), limits=Limits(max_cost=1.0))
        history = await engine.history(run.id)
    assert run.status is RunStatus.FAILED and run.error.code == "limit_exceeded"
    assert CALLS == [0, 1, 2]  # the third call reached 1.2; the step made no fourth, the run no second step
    assert run.usage.cost == pytest.approx(1.2)  # what was spent is kept
    assert payloads(history, "step.completed") == []
    [reached] = payloads(history, "limit.reached")
    assert reached.limit == "max_cost"


async def test_a_pausing_limit_pauses_and_the_run_goes_on_when_resumed(host, store):
    host.register(Plugin(), "charges")
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(FLOW), limits=Limits(max_cost=1.0, on_limit="pause"))
        assert run.status is RunStatus.PAUSED
        run = await engine.resume(run.id, limits=Limits(max_cost=10.0))
    assert run.status is RunStatus.COMPLETED
    # The stopped step ran again from its start after the resume: its calls were charged again.
    assert len(CALLS) == 9 and run.usage.cost == pytest.approx(3.6)
