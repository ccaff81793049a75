"""Errors of the coordination tier (teams, swarms, agents)."""

from __future__ import annotations

import attrs

from vrooli_core.errors import ConfigError, VrooliError

__all__ = ["BlackboardValueError", "CoordinationError", "Problem", "SwarmStatusError", "TeamConfigError"]


class CoordinationError(VrooliError):
    """A team, swarm or agent is invalid, or an operation on it is not possible in its state."""


class SwarmStatusError(CoordinationError):
    """A swarm was asked to move to a status its current status does not lead to."""

    def __init__(self, swarm_id: str, current: str, target: str, allowed: list[str]) -> None:
        to = ", ".join(allowed) or "nothing (it is finished)"
        super().__init__(f"swarm {swarm_id!r}: cannot go from {current} to {target} (allowed: {to})")
        self.swarm_id = swarm_id
        self.current = current
        self.target = target
        self.allowed = allowed


class BlackboardValueError(CoordinationError, ValueError):
    """A value written to a blackboard is not JSON-compatible (so it could not be persisted)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"blackboard key {key!r}: value is not JSON-compatible ({problem})")
        self.key = key
        self.problem = problem


@attrs.frozen
class Problem:
    """One thing wrong in a team definition: ``item`` is a path such as ``agents[2].model``
    (empty for the document itself), ``line`` the 1-based source line when known."""

    item: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.item or '(top)'}: {self.message}"


class TeamConfigError(ConfigError):
    """A team definition (file or mapping) is invalid. ``problems`` lists every problem found;
    ``item`` and ``line`` are those of the first, ``source`` the file (or ``None``)."""

    def __init__(self, problems: list[Problem], *, source: str | None = None) -> None:
        self.problems = problems
        self.source = source
        first = problems[0] if problems else Problem("", "invalid team")
        self.item = first.item
        self.line = first.line
        head = f"{source or 'team'}: invalid team definition"
        super().__init__(head + "".join(f"\n  - {p}" for p in problems))
