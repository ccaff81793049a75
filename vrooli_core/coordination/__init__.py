"""Tier 1, coordination: teams of agents and people, and swarms formed for one objective.

This increment holds the data model, loading teams from TOML/YAML files or mappings, keeping teams
and swarms in storage, checking plans (``plan``) and assigning their tasks (``assign``). Making
plans with a model, executing them and the CLI come later (see ``docs/coordination.md``).
"""

from vrooli_core.coordination.assign import Assignment, AssignmentError, Candidate, assign_tasks, candidates_of
from vrooli_core.coordination.errors import (
    BlackboardValueError,
    CoordinationError,
    Problem,
    SwarmStatusError,
    TeamConfigError,
)
from vrooli_core.coordination.load import load_team, team_from_mapping
from vrooli_core.coordination.model import (
    Agent,
    Blackboard,
    Entry,
    Member,
    Swarm,
    SwarmLimits,
    SwarmStatus,
    Team,
    WriterKind,
)
from vrooli_core.coordination.plan import (
    PLAN_SCHEMA,
    Plan,
    PlanError,
    PlannedTask,
    PlanProblem,
    check_plan,
    layers,
    parse_plan,
)
from vrooli_core.coordination.planner import PlanAttempt, PlanningError, PlanResult, make_plan
from vrooli_core.coordination.store import CoordinationStore

__all__ = [
    "PLAN_SCHEMA",
    "Agent",
    "Assignment",
    "AssignmentError",
    "Blackboard",
    "BlackboardValueError",
    "Candidate",
    "CoordinationError",
    "CoordinationStore",
    "Entry",
    "Member",
    "Plan",
    "PlanAttempt",
    "PlanError",
    "PlanProblem",
    "PlanResult",
    "PlannedTask",
    "PlanningError",
    "Problem",
    "Swarm",
    "SwarmLimits",
    "SwarmStatus",
    "SwarmStatusError",
    "Team",
    "TeamConfigError",
    "WriterKind",
    "assign_tasks",
    "candidates_of",
    "check_plan",
    "layers",
    "load_team",
    "make_plan",
    "parse_plan",
    "team_from_mapping",
]
