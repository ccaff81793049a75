"""Sequences, parallel branches, choices and loops through the engine."""

from __future__ import annotations

import anyio
import pytest
from _util import flow, payloads, types

from vrooli_core import Engine, tool
from vrooli_core.model import RunStatus

pytestmark = pytest.mark.anyio


@tool
def greet(name: str) -> dict:
    return {"greeting": f"Hello, {name}!"}


@tool
def inc(i: int = 0) -> dict:
    return {"i": i + 1}


SEQUENCE = """
id = "seq"
start = "a"
outputs = {type = "object", properties = {greeting = {type = "string"}}}
[steps.a]
kind = "tool"
tool = "greet"
next = "b"
[steps.b]
next = "c"
[steps.c]
"""


async def test_sequence_runs_in_order_and_returns_declared_outputs(host, store):
    async with Engine.open(store, host=host, tools=[greet]) as engine:
        run = await engine.run(flow(SEQUENCE), {"name": "Ada"})
        assert run.status is RunStatus.COMPLETED
        assert run.outputs == {"greeting": "Hello, Ada!"}
        assert run.steps == 3
        events = await engine.history(run.id)
    assert types(events) == [
        "run.created", "run.decided", "step.started", "step.completed", "step.completed", "step.completed", "run.completed",
    ]
    assert [p.step for p in payloads(events, "step.completed")] == ["a", "b", "c"]
    assert [e.seq for e in events] == list(range(1, len(events) + 1))


async def test_routine_versions_follow_content(host, store, tmp_path):
    async with Engine.open(store, host=host) as engine:
        one = await engine.load(flow(SEQUENCE))
        again = await engine.load(flow(SEQUENCE))
        two = await engine.load(flow(SEQUENCE + "\n# changed\n"))
    assert (one.version, again.version, two.version) == ("1", "1", "2")
    assert one.content_hash != two.content_hash


PARALLEL = """
id = "par"
start = "split"
[steps.split]
next = ["a", "b", "c"]
[steps.a]
kind = "tool"
tool = "slow"
args = {label = "a"}
next = "join"
[steps.b]
kind = "tool"
tool = "slow"
args = {label = "b"}
next = "join"
[steps.c]
kind = "tool"
tool = "slow"
args = {label = "c"}
next = "join"
[steps.join]
join = 3
next = "end"
[steps.end]
"""


async def test_parallel_branches_run_concurrently_up_to_the_bound(host, store):
    in_flight = 0
    peak = 0

    @tool
    async def slow(label: str) -> dict:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await anyio.sleep(0.02)
        in_flight -= 1
        return {label: True}

    async with Engine.open(store, host=host, tools=[slow], max_concurrency=2) as engine:
        run = await engine.run(flow(PARALLEL))
        assert run.status is RunStatus.COMPLETED
        assert run.outputs == {"a": True, "b": True, "c": True}
        assert peak == 2  # three branches, a bound of two
        events = await engine.history(run.id)
    completed = [p.step for p in payloads(events, "step.completed")]
    assert completed[0] == "split" and completed[-2:] == ["join", "end"]
    assert sorted(completed[1:4]) == ["a", "b", "c"]


async def test_join_waits_for_every_branch(host, store):
    async with Engine.open(store, host=host, tools=[greet]) as engine:
        run = await engine.run(flow(PARALLEL.replace('"slow"', '"greet"').replace("args = {label", "in = {name = \"n\"}\n#")), {"n": "x"})
        events = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED
    assert [p.step for p in payloads(events, "step.completed")].count("join") == 1


LOOP = """
id = "loop"
start = "inc"
[steps.inc]
kind = "tool"
tool = "inc"
next = "check"
[steps.check]
choose = [{if = "i < 5", next = "inc"}, {else = "done"}]
[steps.done]
"""


async def test_loop_with_condition(host, store):
    async with Engine.open(store, host=host, tools=[inc]) as engine:
        run = await engine.run(flow(LOOP))
    assert run.status is RunStatus.COMPLETED
    assert run.outputs == {"i": 5}
    assert run.steps == 6  # five increments and the end


CHOICE = """
id = "choice"
start = "route"
[steps.route]
choose = [{if = "amount > 100", next = "big"}, {if = "amount > 10", next = "medium"}, {next = "small", if = "amount <= 10"}]
[steps.big]
[steps.medium]
[steps.small]
"""


@pytest.mark.parametrize(("amount", "taken"), [(500, "big"), (50, "medium"), (5, "small")])
async def test_exclusive_choice_takes_the_first_true_condition(host, store, amount, taken):
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(CHOICE), {"amount": amount})
        events = await engine.history(run.id)
    assert [p.step for p in payloads(events, "step.completed")] == [taken]


ASK = """
id = "ask"
start = "route"
[steps.route]
title = "Which way?"
ask = true
choose = [{next = "left"}, {next = "right"}]
[steps.left]
[steps.right]
"""


async def test_path_policy_first_takes_the_first_option(host, store):
    async with Engine.open(store, host=host, path_policy="first") as engine:
        run = await engine.run(flow(ASK))
        events = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED
    assert [p.step for p in payloads(events, "step.completed")] == ["left"]


async def test_path_policy_manual_makes_a_decision_task(host, store):
    async with Engine.open(store, host=host, path_policy="manual") as engine:
        run = await engine.run(flow(ASK))
        assert run.status is RunStatus.WAITING
        [task] = await engine.tasks(run.id)
        assert task.spec.kind == "choice" and task.spec.options == ("left", "right")
        with pytest.raises(Exception, match="not one of left, right"):
            await engine.complete_task(task.id, "up")
        run = await engine.complete_task(task.id, {"choice": "right"})
        events = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED
    assert [p.step for p in payloads(events, "step.completed")] == ["right"]


async def test_path_policy_model_asks_a_path_selector(host, store):
    from vrooli_core.engine import PathSelector
    from vrooli_core.plugins import hookimpl

    asked = []

    class Picker(PathSelector):
        name = "picker"

        async def select(self, wait, options, variables):
            asked.append((options, dict(variables)))
            return "right" if variables.get("lean") == "r" else "nowhere"

    class Plugin:
        @hookimpl
        def vrooli_register_path_selectors(self):
            return [Picker]

    host.register(Plugin(), "picker")
    async with Engine.open(store, host=host, path_policy="model") as engine:
        run = await engine.run(flow(ASK), {"lean": "r"})
        assert run.status is RunStatus.COMPLETED
        # An answer that is not an option hands the choice to a person.
        run = await engine.run(flow(ASK), {"lean": "?"})
        assert run.status is RunStatus.WAITING
        assert len(await engine.tasks(run.id)) == 1
    assert asked[0][0] == ("left", "right")


async def test_unknown_path_policy_is_a_config_error(host, store):
    from vrooli_core.errors import ConfigError

    with pytest.raises(ConfigError, match="unknown path policy"):
        async with Engine.open(store, host=host, path_policy="random"):
            pass


async def test_sync_engine(host, store):
    from vrooli_core import SyncEngine

    with SyncEngine.open(store, host=host, tools=[greet]) as engine:
        run = engine.run(flow(SEQUENCE), {"name": "Bo"})
        assert run.outputs == {"greeting": "Hello, Bo!"}
        assert len(engine.history(run.id)) == 7


async def test_event_bus_sees_every_recorded_event(host, store):
    seen = []
    async with Engine.open(store, host=host, tools=[greet]) as engine:
        unsubscribe = engine.subscribe(seen.append)
        run = await engine.run(flow(SEQUENCE), {"name": "Ada"})
        unsubscribe()
        await engine.run(flow(SEQUENCE), {"name": "Bo"})
        history = await engine.history(run.id)
    assert [e.seq for e in seen] == [e.seq for e in history]
