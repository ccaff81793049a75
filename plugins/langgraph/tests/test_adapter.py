"""A vrooli routine as a LangGraph node (``vrooli_langgraph.adapter.routine_node``)."""

from __future__ import annotations

from typing import TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from vrooli_langgraph.adapter import RoutineNodeError, routine_node

from vrooli_core import Engine, tool
from vrooli_core.coordination.task_routine import task_routine
from vrooli_core.model import RunStatus

pytestmark = pytest.mark.anyio


class State(TypedDict):
    x: int
    doubled: int


@tool
def double(x: int) -> dict:
    return {"doubled": 2 * x}


@tool
def explode(x: int) -> dict:
    raise RuntimeError("no")


def graph_with(node) -> object:
    g = StateGraph(State)
    g.add_node("vrooli", node)
    g.add_edge(START, "vrooli")
    g.add_edge("vrooli", END)
    return g.compile()


async def test_a_routine_runs_as_a_node_through_the_engine(host, store):
    async with Engine.open(store, host=host, tools=[double]) as engine:
        routine = await engine.load(task_routine("double", {"kind": "tool", "config": {"tool": "double"}}))
        result = await graph_with(routine_node(engine, routine, inputs=["x"], outputs=["doubled"])).ainvoke({"x": 21, "doubled": 0})
        [run] = await engine.list_runs()
    assert result == {"x": 21, "doubled": 42}
    assert run.status is RunStatus.COMPLETED and run.routine.id == "double"


async def test_a_failing_routine_fails_the_node(host, store):
    async with Engine.open(store, host=host, tools=[explode]) as engine:
        routine = await engine.load(task_routine("explode", {"kind": "tool", "config": {"tool": "explode"}}))
        with pytest.raises(RoutineNodeError, match=r"routine explode .* failed: .*no"):
            await graph_with(routine_node(engine, routine)).ainvoke({"x": 1, "doubled": 0})
