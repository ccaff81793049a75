"""Assignment: who does each task of a plan. Capabilities decide first — only agents and people
who have every capability a task needs qualify. When several qualify, a chooser (a model asked to
pick, or any async callable) may pick among them, within a bounded number of attempts; an answer
that names anyone else, or a chooser that fails, counts as a failed attempt. After that, or without
a chooser, a deterministic fallback picks the qualified candidate with the fewest tasks so far (ties
by name). Excluded candidates (an agent that failed the task before, say) never get the task.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Literal

import attrs

from vrooli_core.coordination.errors import CoordinationError
from vrooli_core.coordination.model import Agent, Member
from vrooli_core.coordination.plan import Plan, PlannedTask, layers

__all__ = ["Assignment", "AssignmentError", "Candidate", "Chooser", "assign_tasks", "candidates_of"]


@attrs.frozen
class Candidate:
    """Someone a task can go to: an agent, or a person (whose tasks become human tasks)."""

    name: str
    kind: Literal["agent", "person"]
    capabilities: frozenset[str]


@attrs.frozen
class Assignment:
    """``task`` goes to ``assignee``; ``how``: ``only`` (the one qualified), ``chosen`` (the chooser
    picked), ``fallback`` (fewest tasks), ``given`` (named by the caller)."""

    task: str
    assignee: str
    kind: Literal["agent", "person"]
    how: str
    #: Chooser answers that were refused (not qualified, excluded, or an error), in order.
    refused: tuple[str, ...] = ()


class AssignmentError(CoordinationError):
    """A task nobody qualified for can do."""

    def __init__(self, task: str, message: str) -> None:
        super().__init__(f"task {task!r}: {message}")
        self.task = task
        self.code = "no_assignee"


#: Asked to pick one of the qualified candidates for a task; answers a name (or ``None``: no pick).
Chooser = Callable[[PlannedTask, Sequence[Candidate]], Awaitable[str | None]]


def candidates_of(agents: Iterable[Agent], people: Iterable[Member] = ()) -> list[Candidate]:
    """The agents (by name) and people (by id) of a team or swarm as candidates."""
    found = [Candidate(a.name, "agent", frozenset(a.capabilities)) for a in agents]
    found += [Candidate(p.id, "person", frozenset(p.capabilities)) for p in people]
    return found


async def assign_tasks(
    plan: Plan,
    candidates: Sequence[Candidate],
    *,
    chooser: Chooser | None = None,
    attempts: int = 2,
    excluded: Mapping[str, Iterable[str]] | None = None,
    given: Mapping[str, str] | None = None,
    done: Iterable[str] = (),
) -> list[Assignment]:
    """An assignment for every task of ``plan``, in dependency order. ``excluded``: per task id, the
    candidates that must not get it; ``given``: per task id, a candidate chosen beforehand (it must
    qualify); ``done``: tasks finished before this plan (see ``check_plan``). ``AssignmentError``
    names the first task nobody qualified can do."""
    by_name = {c.name: c for c in candidates}
    load = dict.fromkeys(by_name, 0)
    barred = {task: set(names) for task, names in (excluded or {}).items()}
    result: list[Assignment] = []
    for layer in layers(plan, done):
        for task_id in layer:
            task = plan.task(task_id)
            qualified = [
                c for c in candidates if set(task.capabilities) <= c.capabilities and c.name not in barred.get(task_id, ())
            ]
            if not qualified:
                raise AssignmentError(task_id, _nobody(task, candidates, barred.get(task_id, set())))
            assignment = await _pick(task, qualified, load, chooser, attempts, (given or {}).get(task_id))
            load[assignment.assignee] += 1
            result.append(assignment)
    return result


async def _pick(
    task: PlannedTask,
    qualified: list[Candidate],
    load: dict[str, int],
    chooser: Chooser | None,
    attempts: int,
    given: str | None,
) -> Assignment:
    names = {c.name: c for c in qualified}
    if given is not None:
        if given not in names:
            raise AssignmentError(task.id, f"{given!r} was named for it but does not qualify (qualified: {', '.join(sorted(names))})")
        return Assignment(task.id, given, names[given].kind, "given")
    if len(qualified) == 1:
        return Assignment(task.id, qualified[0].name, qualified[0].kind, "only")
    refused: list[str] = []
    if chooser is not None:
        for _ in range(max(attempts, 0)):
            try:
                answer = await chooser(task, list(qualified))
            except Exception as exc:  # a failing chooser (a model error) is one failed attempt
                refused.append(f"error: {type(exc).__name__}: {exc}")
                continue
            if answer in names:
                return Assignment(task.id, answer, names[answer].kind, "chosen", tuple(refused))
            refused.append(str(answer))
    best = min(qualified, key=lambda c: (load[c.name], c.name))
    return Assignment(task.id, best.name, best.kind, "fallback", tuple(refused))


def _nobody(task: PlannedTask, candidates: Sequence[Candidate], barred: set[str]) -> str:
    able = [c.name for c in candidates if set(task.capabilities) <= c.capabilities]
    if able:
        return f"everyone who can do it is excluded ({', '.join(sorted(able))})"
    missing = sorted(set(task.capabilities) - set().union(*(c.capabilities for c in candidates)))
    if missing:
        return f"nobody has {', '.join(repr(m) for m in missing)}"
    return f"nobody has all of {', '.join(repr(c) for c in task.capabilities)}"
