"""Tier 1, coordination: teams of agents and people, and swarms formed for one objective.

The data model (``model``), team files (``load``), storage (``store``), plans and their checks
(``plan``), planning with a routine (``planner``), assignment (``assign``), agent permissions
(``permissions``), task context (``context``), one-step task routines (``task_routine``) and running
swarms (``swarms``). See ``docs/coordination.md``.
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
    SwarmEvent,
    SwarmLimits,
    SwarmStatus,
    SwarmTask,
    TaskStatus,
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
from vrooli_core.coordination.planner import PlanAttempt, PlanningError, PlanResult, default_planner, make_plan
from vrooli_core.coordination.store import CoordinationStore
from vrooli_core.coordination.swarms import SwarmRunner

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
    "SwarmEvent",
    "SwarmLimits",
    "SwarmRunner",
    "SwarmStatus",
    "SwarmStatusError",
    "SwarmTask",
    "TaskStatus",
    "Team",
    "TeamConfigError",
    "WriterKind",
    "assign_tasks",
    "candidates_of",
    "check_plan",
    "default_planner",
    "layers",
    "load_team",
    "make_plan",
    "parse_plan",
    "team_from_mapping",
]
