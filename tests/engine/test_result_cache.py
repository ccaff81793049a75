"""The result cache (``vrooli_core.engine.cache``): steps that opt in run once per routine version,
step configuration and inputs; a hit is recorded with the cost it saved."""

from __future__ import annotations

from typing import ClassVar

import pytest
from _util import flow, payloads

from vrooli_core import Engine, FakeClock
from vrooli_core.execution.strategy import StepContext, Strategy
from vrooli_core.model import Outcome, RunStatus, Usage
from vrooli_core.plugins import hookimpl

pytestmark = pytest.mark.anyio

CALLS: list[object] = []


class Priced(Strategy):
    """Answers with its input doubled and a price; fails when told to."""

    name: ClassVar[str] = "priced"

    async def execute(self, ctx: StepContext) -> Outcome:
        CALLS.append(ctx.inputs)
        if ctx.inputs.get("fail"):
            raise ValueError("told to fail")
        return Outcome(output={"twice": ctx.inputs["n"] * 2}, usage=Usage(cost=0.5, model_calls=1))


class Plugin:
    @hookimpl
    def vrooli_register_strategies(self) -> list:
        return [Priced]


def routine(cache: str = "true", model: str = "m1") -> str:
    return f"""
id = "cached"
start = "ask"
[steps.ask]
kind = "model"
strategy = "priced"
config = {{cache = {cache}, model = "{model}"}}
in = {{n = "n", fail = "fail"}}
out = {{answer = "twice"}}
"""


@pytest.fixture(autouse=True)
def _calls():
    CALLS.clear()


async def test_a_cached_step_runs_once_and_records_the_cost_it_saved(host, store):
    host.register(Plugin(), "priced")
    async with Engine.open(store, host=host) as engine:
        first = await engine.run(flow(routine()), {"n": 2, "fail": False})
        second = await engine.run(flow(routine()), {"n": 2, "fail": False})
        assert first.status is second.status is RunStatus.COMPLETED
        assert len(CALLS) == 1
        assert (await engine.variables(second.id))["answer"] == 4
        [hit] = payloads(await engine.history(second.id), "step.cache_hit")
        assert hit.step == "ask" and hit.saved.cost == 0.5 and hit.saved.model_calls == 1
        assert payloads(await engine.history(first.id), "step.cache_hit") == []
        assert first.usage.cost == 0.5 and second.usage.cost == 0.0
        # Other inputs, or another step configuration (another model), are other entries.
        await engine.run(flow(routine()), {"n": 3, "fail": False})
        await engine.run(flow(routine(model="m2")), {"n": 2, "fail": False})
        assert len(CALLS) == 3


async def test_failures_are_not_cached_and_entries_expire(host, store):
    host.register(Plugin(), "priced")
    clock = FakeClock()
    async with Engine.open(store, host=host, clock=clock) as engine:
        for _ in range(2):
            failed = await engine.run(flow(routine("{ttl = 60}")), {"n": 1, "fail": True})
            assert failed.status is RunStatus.FAILED
        assert len(CALLS) == 2
        await engine.run(flow(routine("{ttl = 60}")), {"n": 1, "fail": False})
        clock.advance(30)
        await engine.run(flow(routine("{ttl = 60}")), {"n": 1, "fail": False})
        assert len(CALLS) == 3  # a hit
        clock.advance(31)
        await engine.run(flow(routine("{ttl = 60}")), {"n": 1, "fail": False})
        assert len(CALLS) == 4  # expired: executed again


async def test_an_invalid_cache_setting_fails_the_step_by_name(host, store):
    host.register(Plugin(), "priced")
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(routine('"always"')), {"n": 1, "fail": False})
    assert run.status is RunStatus.FAILED
    assert run.error.code == "invalid_cache"
    assert "'ask'" in run.error.message
    assert CALLS == []
