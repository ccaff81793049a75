"""A delegating navigator: a foreign runtime runs inside one step; limits and checks apply between its steps."""

from __future__ import annotations

import json
from typing import ClassVar

import pytest

from vrooli_core import Engine
from vrooli_core.engine import Navigator
from vrooli_core.execution import Deny, SafetyCheck, SafetyPoint
from vrooli_core.execution.safety import ALLOW
from vrooli_core.model import (
    Decision,
    Graph,
    Limits,
    Outcome,
    RoutineDef,
    RoutineSource,
    RunStatus,
    StepDef,
    StepKind,
    goto,
)
from vrooli_core.plugins import hookimpl

pytestmark = pytest.mark.anyio


class Foreign(Navigator):
    """Runs a JSON list of "nodes" (each appends its name to a list) as one foreign graph."""

    name: ClassVar[str] = "foreign"
    suffixes: ClassVar[tuple[str, ...]] = (".foreign.json",)
    delegating: ClassVar[bool] = True

    def load(self, source: RoutineSource) -> Graph:
        nodes = json.loads(source.text)["nodes"]
        routine = RoutineDef(id="foreign", format=self.name, content_hash=source.content_hash)
        return Graph(routine, {"graph": StepDef("graph", StepKind.DELEGATE)}, data=nodes)

    def start(self, graph, view) -> Decision:
        return goto("graph")

    def next(self, graph, view, token, outcome) -> Decision:
        return Decision(error=outcome.error) if outcome.error else Decision(outputs=outcome.output)

    async def execute(self, graph, view, token, ctx) -> Outcome:
        visited: list[str] = []
        for node in graph.data:
            async with ctx.substep(node, {"visited": list(visited)}) as sub:
                visited.append(node)
                sub.output = {"visited": list(visited)}
        return Outcome(output={"visited": visited})


class Plugin:
    @hookimpl
    def vrooli_register_navigators(self):
        return [Foreign]


SOURCE = RoutineSource(json.dumps({"nodes": ["plan", "search", "write", "review"]}), "g.foreign.json")


async def test_foreign_steps_are_recorded(host, store):
    host.register(Plugin(), "foreign")
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(SOURCE)
        events = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED
    assert run.outputs == {"visited": ["plan", "search", "write", "review"]}
    assert [e.payload.substep for e in events if e.type == "step.substep"] == ["plan", "search", "write", "review"]
    assert run.steps == 5  # the delegate step and its four foreign steps


async def test_limits_apply_between_foreign_steps(host, store):
    host.register(Plugin(), "foreign")
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(SOURCE, limits=Limits(max_steps=3))
        events = await engine.history(run.id)
    assert run.status is RunStatus.FAILED and run.error.code == "limit_exceeded"
    assert [e.payload.substep for e in events if e.type == "step.substep"] == ["plan", "search"]


async def test_a_pause_between_foreign_steps_reruns_the_delegate_step_on_resume(host, store):
    host.register(Plugin(), "foreign")
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(SOURCE, limits=Limits(max_steps=3, on_limit="pause"))
        assert run.status is RunStatus.PAUSED
        run = await engine.resume(run.id, limits=Limits())
    assert run.status is RunStatus.COMPLETED
    assert run.outputs == {"visited": ["plan", "search", "write", "review"]}


async def test_safety_checks_gate_every_foreign_step(host, store):
    class NoWriting(SafetyCheck):
        name = "no-writing"
        points = frozenset({SafetyPoint.BEFORE_STEP})

        async def check(self, request):
            if request.value and request.value.get("visited") == ["plan", "search"]:
                return Deny("writing is not allowed")
            return ALLOW

    class Checks:
        @hookimpl
        def vrooli_register_safety_checks(self):
            return [NoWriting]

    host.register(Plugin(), "foreign")
    host.register(Checks(), "checks")
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(SOURCE)
    assert run.status is RunStatus.FAILED
    assert run.error.code == "safety_denied" and "writing is not allowed" in run.error.message
