"""Plans: an objective decomposed into tasks with dependencies, required capabilities and cost
estimates — what a planner (a model with structured output, or a routine) proposes and the swarm
runs. A plan is checked before anything runs: every problem is listed with the task it concerns,
so a planner can be asked to repair it, or the plan rejected with the reasons.

``PLAN_SCHEMA`` is the JSON schema of a plan as a planner writes it; ``parse_plan`` reads that form,
``check_plan`` lists the problems, ``layers`` gives the order (tasks of one layer may run together).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from vrooli_core.coordination.errors import CoordinationError

__all__ = ["PLAN_SCHEMA", "Plan", "PlanError", "PlanProblem", "PlannedTask", "check_plan", "layers", "parse_plan"]

#: A plan as a planner writes it (the structured output a model is asked for).
PLAN_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "required": ["tasks"],
    "additionalProperties": False,
    "properties": {
        "tasks": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["id", "title"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "minLength": 1},
                    "title": {"type": "string", "minLength": 1},
                    "description": {"type": "string"},
                    "depends_on": {"type": "array", "items": {"type": "string"}},
                    "capabilities": {"type": "array", "items": {"type": "string"}},
                    "routine": {"type": ["string", "null"]},
                    "estimate": {"type": "number", "minimum": 0},
                },
            },
        }
    },
}


@attrs.frozen
class PlannedTask:
    """One task of a plan: what to do, after which tasks, needing which capabilities, for about how
    many credits; ``routine`` names a routine to run (else the assigned agent reasons with its tools)."""

    id: str
    title: str
    description: str = ""
    depends_on: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()
    routine: str | None = None
    estimate: float = 0.0


@attrs.frozen
class Plan:
    tasks: tuple[PlannedTask, ...]

    def task(self, task_id: str) -> PlannedTask:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise KeyError(task_id)

    @property
    def estimate(self) -> float:
        return sum(t.estimate for t in self.tasks)


@attrs.frozen
class PlanProblem:
    """One reason a plan cannot run as it is: ``code`` (``empty``, ``duplicate_task``,
    ``unknown_dependency``, ``cycle``, ``missing_capability``, ``unknown_routine``, ``over_budget``)
    and the task it concerns (``None``: the whole plan)."""

    code: str
    message: str
    task: str | None = None


class PlanError(CoordinationError):
    """A plan that cannot run; ``problems`` lists every reason."""

    def __init__(self, problems: Iterable[PlanProblem], *, what: str = "the plan") -> None:
        self.problems = tuple(problems)
        lines = "; ".join(p.message for p in self.problems)
        super().__init__(f"{what} cannot run: {lines}")
        self.code = self.problems[0].code if self.problems else "invalid_plan"


def parse_plan(data: Any) -> Plan:
    """A plan from its written form (``PLAN_SCHEMA``); ``PlanError`` (code ``invalid_plan``) lists
    every place that does not match, by path (``tasks[2].depends_on``)."""
    from jsonschema.validators import validator_for

    validator = validator_for(PLAN_SCHEMA)(PLAN_SCHEMA)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
    if errors:
        raise PlanError(PlanProblem("invalid_plan", f"{_path(e.path)}: {e.message}") for e in errors)
    return Plan(
        tuple(
            PlannedTask(
                id=t["id"],
                title=t["title"],
                description=t.get("description", ""),
                depends_on=tuple(dict.fromkeys(t.get("depends_on", ()))),  # a dependency named twice counts once
                capabilities=tuple(dict.fromkeys(t.get("capabilities", ()))),
                routine=t.get("routine"),
                estimate=float(t.get("estimate", 0.0)),
            )
            for t in data["tasks"]
        )
    )


def check_plan(
    plan: Plan,
    *,
    capabilities: Iterable[str] | None = None,
    routines: Iterable[str] | None = None,
    budget: float | None = None,
    done: Iterable[str] = (),
) -> list[PlanProblem]:
    """Every reason ``plan`` cannot run, in a stable order (empty: it can). ``capabilities``: what
    the swarm's members can do (``None``: not checked); ``routines``: the routines that exist;
    ``budget``: credits the plan's estimates must fit in; ``done``: ids of tasks finished before
    this plan (a re-plan): its tasks may depend on them, and must not reuse their ids."""
    problems: list[PlanProblem] = []
    if not plan.tasks:
        return [PlanProblem("empty", "the plan has no tasks")]
    finished = set(done)
    seen: set[str] = set()
    for task in plan.tasks:
        if task.id in seen:
            problems.append(PlanProblem("duplicate_task", f"task id {task.id!r} is used twice", task.id))
        elif task.id in finished:
            problems.append(PlanProblem("duplicate_task", f"task id {task.id!r} is the id of a task already done", task.id))
        seen.add(task.id)
    for task in plan.tasks:
        for dep in task.depends_on:
            if dep not in seen and dep not in finished:
                problems.append(PlanProblem("unknown_dependency", f"task {task.id!r} depends on {dep!r}, which is not a task of the plan", task.id))
    cycle = _cycle(plan)
    if cycle:
        path = " → ".join([*cycle, cycle[0]])
        problems.append(PlanProblem("cycle", f"tasks depend on each other in a circle: {path}", cycle[0]))
    if capabilities is not None:
        available = set(capabilities)
        for task in plan.tasks:
            for need in task.capabilities:
                if need not in available:
                    problems.append(PlanProblem("missing_capability", f"task {task.id!r} needs {need!r}, which no member of the swarm has", task.id))
    if routines is not None:
        known = set(routines)
        for task in plan.tasks:
            if task.routine is not None and task.routine not in known:
                problems.append(PlanProblem("unknown_routine", f"task {task.id!r} runs routine {task.routine!r}, which is not loaded", task.id))
    if budget is not None and plan.estimate > budget:
        problems.append(PlanProblem("over_budget", f"the tasks are estimated at {plan.estimate:g} credits, over the budget of {budget:g}"))
    return problems


def layers(plan: Plan, done: Iterable[str] = ()) -> list[list[str]]:
    """Task ids in dependency order, grouped: every task of a layer depends only on earlier layers
    (or on ``done`` tasks, finished before this plan), so a layer's tasks may run at once.
    ``PlanError`` for a plan with a cycle or an unknown dependency (check it first)."""
    finished = set(done)
    problems = [p for p in check_plan(plan, done=finished) if p.code in ("cycle", "unknown_dependency", "duplicate_task", "empty")]
    if problems:
        raise PlanError(problems)
    waiting = {t.id: sum(1 for d in t.depends_on if d not in finished) for t in plan.tasks}
    dependents: dict[str, list[str]] = {}
    for task in plan.tasks:
        for dep in task.depends_on:
            if dep not in finished:
                dependents.setdefault(dep, []).append(task.id)
    order: list[list[str]] = []
    ready = [tid for tid, count in waiting.items() if count == 0]
    while ready:
        order.append(ready)
        following: list[str] = []
        for tid in ready:
            for after in dependents.get(tid, ()):
                waiting[after] -= 1
                if waiting[after] == 0:
                    following.append(after)
        ready = following
    return order


def _cycle(plan: Plan) -> list[str]:
    """One circle of dependencies (task ids in order), or ``[]``. Iterative: plans may be long."""
    deps: dict[str, list[str]] = {}
    for task in plan.tasks:  # a task id used twice: the dependencies of both
        deps.setdefault(task.id, []).extend(task.depends_on)
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in deps:
        if state.get(root):
            continue
        path: list[str] = []
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            node, i = stack.pop()
            if i == 0:
                state[node] = 1
                path.append(node)
            children = deps.get(node, [])
            if i < len(children):
                stack.append((node, i + 1))
                child = children[i]
                if child not in deps:
                    continue  # an unknown dependency: reported on its own
                if state.get(child) == 1:
                    return path[path.index(child):]
                if not state.get(child):
                    stack.append((child, 0))
            else:
                state[node] = 2
                path.pop()
    return []


def _path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the plan"
