"""Routines as tools (``Engine.routine_tool``): a call runs the routine as a child run of the caller."""

from __future__ import annotations

import pytest
from _util import flow

from vrooli_core import Engine
from vrooli_core.engine.routine_tools import call_run_id
from vrooli_core.model import RunStatus, StepDef, StepKind
from vrooli_core.testing.fakes import step_context

pytestmark = pytest.mark.anyio

DOUBLE = """
id = "double"
description = "Doubles a number, or fails for 13"
start = "pick"
[inputs]
type = "object"
required = ["n"]
properties = {n = {type = "integer"}}
[steps.pick]
choose = [{if = "n == 13", next = "bad"}, {else = "ok"}]
[steps.ok]
kind = "noop"
[steps.bad]
error = "unlucky"
"""

CALLER = """
id = "caller"
start = "call"
[steps.call]
kind = "tool"
tool = "double"
in = {n = "n"}
out = {result = ""}
"""


async def test_a_tool_call_runs_the_routine_as_a_child_run(host, store):
    async with Engine.open(store, host=host) as engine:
        await engine.load(flow(DOUBLE, "double"))
        spec = await engine.routine_tool("double")
        assert spec.name == "double" and spec.parameters["required"] == ["n"]
        assert spec.description == "Doubles a number, or fails for 13"
        run = await engine.run(flow(CALLER, "caller"), {"n": 4})
        assert run.status is RunStatus.COMPLETED, run.error
        [child] = await engine.list_runs(parent_run_id=run.id)
        assert child.routine.id == "double" and child.status is RunStatus.COMPLETED
        assert child.id == call_run_id(f"{run.id}:t1:call:1", "double", {"n": 4})


async def test_a_failing_routine_fails_the_call_by_name(host, store):
    async with Engine.open(store, host=host) as engine:
        await engine.load(flow(DOUBLE, "double"))
        await engine.routine_tool("double")
        run = await engine.run(flow(CALLER, "caller"), {"n": 13})
        [child] = await engine.list_runs(parent_run_id=run.id)
    assert child.status is RunStatus.FAILED
    assert run.status is RunStatus.FAILED
    assert run.error.code == "routine_failed" and "'double'" in run.error.message and child.id in run.error.message
    assert run.error.element == "call"


async def test_invalid_arguments_are_refused_before_any_child_starts(host, store):
    async with Engine.open(store, host=host) as engine:
        await engine.load(flow(DOUBLE, "double"))
        await engine.routine_tool("double")
        run = await engine.run(flow(CALLER, "caller"), {"n": "four"})
        assert run.status is RunStatus.FAILED and "n" in run.error.message
        assert await engine.list_runs(parent_run_id=run.id) == []


async def test_the_same_call_made_again_waits_for_the_child_it_started(host, store):
    async with Engine.open(store, host=host) as engine:
        await engine.load(flow(DOUBLE, "double"))
        spec = await engine.routine_tool("double", name="twice", register=False)
        run = await engine.run(flow(CALLER.replace('tool = "double"', 'kind = "noop"').replace('kind = "tool"\n', ""), "c2"), {"n": 1})
        # The step executed again after a crash: same run, token, step and attempt, so the same key.
        ctx = step_context(StepDef("call", StepKind.TOOL), {"n": 5}, run_id=run.id, services=engine)
        first = await spec.call({"n": 5}, ctx)
        again = await spec.call({"n": 5}, ctx)
        assert first == again
        children = await engine.list_runs(parent_run_id=run.id)
        assert len(children) == 1
        # Other arguments are another call.
        await spec.call({"n": 6}, ctx)
        assert len(await engine.list_runs(parent_run_id=run.id)) == 2


async def test_a_routine_that_is_not_loaded_cannot_be_a_tool(host, store):
    from vrooli_core.errors import NotFoundError

    async with Engine.open(store, host=host) as engine:
        with pytest.raises(NotFoundError, match="no routine 'ghost' is loaded"):
            await engine.routine_tool("ghost")
