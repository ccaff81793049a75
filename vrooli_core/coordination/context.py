"""What a task's run gets to know: context inherited system → team → swarm → agent → run, with access
control (an agent sees the team knowledge and blackboard keys it was granted) and compression when
the whole would not fit the model's window.

Grants are scopes in ``Agent.permissions``:

``knowledge:*`` / ``knowledge:<key>``    the team's knowledge (all of it / one key)
``blackboard:*`` / ``blackboard:<key>``  the swarm's blackboard beyond the task's own inputs

A task always sees the results of the tasks it depends on (they are its inputs), the objective, the
team's name and goals, and its own persona. People see the team's knowledge and the whole
blackboard (they are members, not delegates).

Compression is deterministic (no model call): long texts are shortened, keeping their start, then
ungranted-by-default extras (blackboard, then knowledge) are dropped, until the estimate (four
characters per token) fits ``max_tokens``; what was cut is listed in ``compressed``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from vrooli_core.coordination.model import Agent, Member, Swarm, Team

__all__ = ["TaskContext", "build_context", "estimate_tokens", "granted"]

_CHARS_PER_TOKEN = 4


@attrs.frozen
class TaskContext:
    """The inputs of a task's run, and what compression cut to make them fit (empty: nothing)."""

    inputs: Mapping[str, Any]
    tokens: int
    compressed: tuple[str, ...] = ()


def estimate_tokens(value: Any) -> int:
    """A rough token count of ``value`` as JSON (four characters per token)."""
    return len(json.dumps(value, ensure_ascii=False, default=str)) // _CHARS_PER_TOKEN + 1


def granted(permissions: tuple[str, ...], area: str, key: str) -> bool:
    """Whether ``permissions`` grant reading ``key`` of ``area`` (``knowledge`` or ``blackboard``)."""
    return f"{area}:*" in permissions or f"{area}:{key}" in permissions


def build_context(
    team: Team,
    swarm: Swarm,
    task_id: str,
    who: Agent | Member,
    *,
    max_tokens: int | None = None,
) -> TaskContext:
    """The inputs of the run that does ``task_id`` for ``who``."""
    task = swarm.task(task_id)
    planned = swarm.plan.task(task_id) if swarm.plan is not None and task.generation == swarm.replans else None
    person = isinstance(who, Member)
    permissions: tuple[str, ...] = ("knowledge:*", "blackboard:*") if person else who.permissions  # type: ignore[union-attr]
    board = swarm.blackboard.latest()
    dependencies = {dep: swarm.blackboard.get(f"task.{dep}") for dep in task.depends_on}
    own = {f"task.{dep}" for dep in task.depends_on}
    extras = {key: entry.value for key, entry in board.items() if key not in own and granted(permissions, "blackboard", key)}
    knowledge = {key: value for key, value in team.knowledge.items() if granted(permissions, "knowledge", key)}
    inputs: dict[str, Any] = {
        "objective": swarm.objective,
        "task": {
            "id": task.id,
            "title": task.title,
            "description": planned.description if planned is not None else "",
            "depends_on": list(task.depends_on),
        },
        "inputs": dependencies,
        "context": {
            "system": {"swarm": swarm.id},
            "team": {"name": team.name, "goals": list(team.goals), "knowledge": knowledge},
            "swarm": {"objective": swarm.objective, "blackboard": extras},
            "member": _member(who),
        },
    }
    if max_tokens is None:
        return TaskContext(inputs, estimate_tokens(inputs))
    return _compress(inputs, max_tokens)


def _member(who: Agent | Member) -> dict[str, Any]:
    if isinstance(who, Member):
        return {"person": who.id, "name": who.name, "roles": list(who.roles)}
    return {"agent": who.name, "role": who.role, "goal": who.goal}


def _compress(inputs: dict[str, Any], max_tokens: int) -> TaskContext:
    cut: list[str] = []
    tokens = estimate_tokens(inputs)
    if tokens <= max_tokens:
        return TaskContext(inputs, tokens)
    # 1. Shorten long texts anywhere, halving the longest allowed length until the whole fits.
    longest = _longest_text(inputs)
    limit = longest
    while tokens > max_tokens and limit > 64:
        limit //= 2
        inputs = _shorten(inputs, limit)
        tokens = estimate_tokens(inputs)
    if limit < longest:
        cut.append(f"texts shortened to {limit} characters")
    # 2. Drop what is context rather than the task's inputs: blackboard extras, then knowledge.
    for area, path in (("blackboard", ("swarm", "blackboard")), ("knowledge", ("team", "knowledge"))):
        holder = inputs["context"][path[0]]
        for key in list(holder[path[1]]):
            if tokens <= max_tokens:
                break
            del holder[path[1]][key]
            cut.append(f"{area} {key!r} left out")
            tokens = estimate_tokens(inputs)
    return TaskContext(inputs, tokens, tuple(cut))


def _longest_text(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, Mapping):
        return max((_longest_text(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return max((_longest_text(v) for v in value), default=0)
    return 0


def _shorten(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= limit else f"{value[:limit]}… [{len(value) - limit} characters cut]"
    if isinstance(value, Mapping):
        return {k: _shorten(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [_shorten(v, limit) for v in value]
    return value
