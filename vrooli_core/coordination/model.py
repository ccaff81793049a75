"""The coordination tier's values: teams of agents and people, swarms, and their blackboard.

Every class here is an immutable attrs value that round-trips through
:func:`vrooli_core.serialization.make_converter`; a change (a status transition, a blackboard
write) returns a new value, so what is persisted is exactly what was observed.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import Any

import attrs

from vrooli_core.coordination.errors import BlackboardValueError, CoordinationError, SwarmStatusError
from vrooli_core.coordination.plan import Plan
from vrooli_core.jsonable import unstorable

__all__ = [
    "Agent",
    "Blackboard",
    "Entry",
    "Member",
    "Swarm",
    "SwarmEvent",
    "SwarmLimits",
    "SwarmStatus",
    "SwarmTask",
    "TaskStatus",
    "Team",
    "WriterKind",
]


def _non_negative(_: Any, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and value < 0:
        raise ValueError(f"{attribute.name} must not be negative, got {value!r}")


@attrs.frozen
class Agent:
    """A persona that can be recruited into swarms. ``routines`` and ``tools`` are what it may run
    (routine ids, tool names); ``capabilities`` what it can do (matched against tasks);
    ``permissions`` the scopes granted to it; ``budget`` its own credit limit (``None``: the team's)."""

    name: str
    role: str
    goal: str = ""
    instructions: str = ""
    model: str | None = None
    routines: tuple[str, ...] = ()
    tools: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()
    budget: float | None = attrs.field(default=None, validator=_non_negative)


@attrs.frozen
class Member:
    """A person in a team; people can be assigned tasks (which become human tasks)."""

    id: str
    name: str
    roles: tuple[str, ...] = ()
    capabilities: tuple[str, ...] = ()


def _unique(what: str, key: str) -> Any:
    def check(_: Any, attribute: attrs.Attribute[Any], value: tuple[Any, ...]) -> None:
        seen: set[str] = set()
        for item in value:
            name = getattr(item, key)
            if name in seen:
                raise CoordinationError(f"{attribute.name}: duplicate {what} {name!r}")
            seen.add(name)

    return check


def _json_mapping(_: Any, attribute: attrs.Attribute[Any], value: Mapping[str, Any]) -> None:
    problem = unstorable(dict(value))
    if problem is not None:
        raise CoordinationError(f"{attribute.name} must be JSON-compatible ({problem})")


@attrs.frozen
class Team:
    """People and agents around long-term goals, with a credit budget and shared knowledge
    (a JSON-compatible mapping). Agent names and member ids are unique within the team."""

    id: str
    name: str
    goals: tuple[str, ...] = ()
    agents: tuple[Agent, ...] = attrs.field(default=(), validator=_unique("agent", "name"))
    people: tuple[Member, ...] = attrs.field(default=(), validator=_unique("person", "id"))
    budget: float | None = attrs.field(default=None, validator=_non_negative)
    knowledge: Mapping[str, Any] = attrs.field(factory=dict, validator=_json_mapping)

    def agent(self, name: str) -> Agent:
        """The agent called ``name`` (``LookupError`` naming the team's agents when there is none)."""
        for agent in self.agents:
            if agent.name == name:
                return agent
        known = ", ".join(a.name for a in self.agents) or "none"
        raise LookupError(f"team {self.id!r} has no agent {name!r} (agents: {known})")


class SwarmStatus(StrEnum):
    FORMING = "forming"
    PLANNING = "planning"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return not _NEXT[self]

    @property
    def next(self) -> tuple[SwarmStatus, ...]:
        """The statuses this one may move to."""
        return _NEXT[self]


_S = SwarmStatus
_NEXT: dict[SwarmStatus, tuple[SwarmStatus, ...]] = {
    _S.FORMING: (_S.PLANNING, _S.FAILED, _S.CANCELLED),
    _S.PLANNING: (_S.RUNNING, _S.FAILED, _S.CANCELLED),
    # running -> planning is a re-plan (after a failed task or an overrun).
    _S.RUNNING: (_S.PLANNING, _S.COMPLETED, _S.FAILED, _S.CANCELLED),
    _S.COMPLETED: (),
    _S.FAILED: (),
    _S.CANCELLED: (),
}


@attrs.frozen
class SwarmLimits:
    """Bounds a swarm stays within; ``None`` means no limit. ``credits``: everything its runs spend
    (planner included); ``seconds``: wall time from its start; ``rounds``: task runs started (a retry
    is another round); ``replans``: how often a failed task may lead to a new plan."""

    credits: float | None = attrs.field(default=None, validator=_non_negative)
    seconds: float | None = attrs.field(default=None, validator=_non_negative)
    rounds: int | None = attrs.field(default=None, validator=_non_negative)
    replans: int = attrs.field(default=1, validator=_non_negative)


class TaskStatus(StrEnum):
    PENDING = "pending"
    #: its run is under way
    RUNNING = "running"
    #: its run waits for a person (a person's task, or an approval)
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    #: a person chose to go on without it
    SKIPPED = "skipped"
    #: dropped: the swarm stopped, or a re-plan replaced it
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.SKIPPED, TaskStatus.CANCELLED)


@attrs.frozen
class SwarmTask:
    """A task of the swarm's plan as it is carried out: who does it (``kind``: agent or person,
    ``how`` they were chosen), the credits it was given, its current run and what it spent.
    ``generation`` counts plans: 0 for the first, one more for every re-plan."""

    id: str
    title: str
    assignee: str
    kind: str = "agent"
    how: str = ""
    depends_on: tuple[str, ...] = ()
    status: TaskStatus = TaskStatus.PENDING
    credits: float | None = None
    run_id: str | None = None
    attempt: int = 0
    spent: float = 0.0
    cost: float = 0.0
    error: str | None = None
    code: str | None = None
    generation: int = 0


@attrs.frozen
class SwarmEvent:
    """One entry of a swarm's own log (``swarm.started``, ``task.completed``, …), kept with the swarm
    and published on the engine's event bus under the swarm's id."""

    seq: int
    type: str
    at: float
    data: Mapping[str, Any] = attrs.field(factory=dict)


class WriterKind(StrEnum):
    AGENT = "agent"
    PERSON = "person"
    #: the coordination tier itself (a planner, the engine)
    SYSTEM = "system"


@attrs.frozen
class Entry:
    """One blackboard write: ``value`` (JSON-compatible) under ``key``, written by ``by`` (an agent
    name or a person id, see ``by_kind``) at ``at`` (epoch seconds), from run ``run_id`` if any."""

    key: str
    value: Any
    by: str
    at: float
    by_kind: WriterKind = WriterKind.AGENT
    run_id: str | None = None


@attrs.frozen
class Blackboard:
    """A swarm's shared state with provenance. ``writes`` is the whole history, oldest first; the
    current value of a key is its latest write. Only the history is stored."""

    writes: tuple[Entry, ...] = ()

    def write(
        self,
        key: str,
        value: Any,
        *,
        by: str,
        at: float,
        by_kind: WriterKind = WriterKind.AGENT,
        run_id: str | None = None,
    ) -> Blackboard:
        """A blackboard with one more write. ``value`` must be JSON types (tuples are kept as lists,
        so the stored value is what is read back); it is copied, so later changes by the caller do
        not rewrite history. ``BlackboardValueError`` names the key otherwise."""
        problem = unstorable(value)
        if problem is not None:
            raise BlackboardValueError(key, problem)
        entry = Entry(key, _as_json(value), by, at, WriterKind(by_kind), run_id)
        return Blackboard((*self.writes, entry))

    def entry(self, key: str) -> Entry:
        """The latest write of ``key`` (``KeyError`` when it was never written)."""
        for entry in reversed(self.writes):
            if entry.key == key:
                return entry
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        """The current value of ``key`` (a copy), or ``default``."""
        try:
            return copy.deepcopy(self.entry(key).value)
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return any(entry.key == key for entry in self.writes)

    def __iter__(self) -> Iterator[str]:
        """Keys, in the order they were first written."""
        return iter(dict.fromkeys(entry.key for entry in self.writes))

    def history(self, key: str) -> tuple[Entry, ...]:
        """Every write of ``key``, oldest first."""
        return tuple(entry for entry in self.writes if entry.key == key)

    def latest(self) -> dict[str, Entry]:
        """The latest write of every key."""
        return {entry.key: entry for entry in self.writes}


def _as_json(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_json(v) for v in value]
    return value


@attrs.frozen
class Swarm:
    """A task force formed within team ``team_id`` for one objective. ``agents`` are the names of
    the team's agents recruited; ``report`` is the final report once the swarm has finished."""

    id: str
    team_id: str
    objective: str
    agents: tuple[str, ...] = attrs.field(default=())
    status: SwarmStatus = SwarmStatus.FORMING
    limits: SwarmLimits = SwarmLimits()
    blackboard: Blackboard = Blackboard()
    #: the plan being carried out (the latest, after a re-plan)
    plan: Plan | None = None
    report: str | None = None
    tasks: tuple[SwarmTask, ...] = ()
    events: tuple[SwarmEvent, ...] = ()
    started_at: float | None = None
    #: credits and cost (USD) of every run the swarm made, planner runs included
    spent: float = 0.0
    cost: float = 0.0
    rounds: int = 0
    replans: int = 0
    #: why the swarm ended (or a stop a person asked for, while it winds down)
    reason: str | None = None
    stop: str | None = None
    #: the run of an open escalation (a person deciding about a failed task)
    escalation: str | None = None

    @agents.validator
    def _check_agents(self, _: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
        if len(set(value)) != len(value):
            raise CoordinationError(f"swarm {self.id!r}: an agent is recruited twice: {list(value)}")

    def transition(self, target: SwarmStatus | str) -> Swarm:
        """This swarm in status ``target``; ``SwarmStatusError`` when the current status does not
        lead there (see :attr:`SwarmStatus.next`)."""
        target = SwarmStatus(target)
        if target not in self.status.next:
            raise SwarmStatusError(self.id, self.status.value, target.value, [s.value for s in self.status.next])
        return attrs.evolve(self, status=target)

    def write(self, key: str, value: Any, *, by: str, at: float, **provenance: Any) -> Swarm:
        """This swarm with a blackboard write (see :meth:`Blackboard.write`)."""
        return attrs.evolve(self, blackboard=self.blackboard.write(key, value, by=by, at=at, **provenance))

    def task(self, task_id: str) -> SwarmTask:
        """The current task ``task_id`` (of the latest plan, else the finished one of an earlier plan)."""
        found = [t for t in self.tasks if t.id == task_id]
        if not found:
            raise KeyError(task_id)
        current = [t for t in found if t.generation == self.replans]
        return (current or found)[-1]

    def current_tasks(self) -> tuple[SwarmTask, ...]:
        """The tasks of the latest plan."""
        return tuple(t for t in self.tasks if t.generation == self.replans)
