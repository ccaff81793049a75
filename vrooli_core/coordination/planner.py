"""Planning: a routine turns an objective into a plan. The planner is an ordinary routine — usually
one ``reasoning`` model step whose output schema is ``PLAN_SCHEMA`` (vrooli-litellm), or anything a
user supplies in any format — so its runs are recorded, limited and inspectable like every other.

Each attempt runs the planner with the objective, what the swarm can do (its capabilities and
routines), the budget, and the problems of the attempt before. Its output (``outputs["plan"]``, or
the outputs themselves) is read as a plan and checked; a plan with problems is handed back for
repair, up to ``attempts`` runs, and then rejected with every problem of the last attempt.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs

from vrooli_core.coordination.plan import Plan, PlanError, PlanProblem, check_plan, parse_plan
from vrooli_core.model import RunStatus

if TYPE_CHECKING:
    from vrooli_core.engine.engine import Engine, RoutineLike
    from vrooli_core.model import Limits

__all__ = ["PlanAttempt", "PlanResult", "PlanningError", "make_plan"]


@attrs.frozen
class PlanAttempt:
    """One run of the planner and what was wrong with its plan (nothing: it was accepted)."""

    run_id: str
    problems: tuple[PlanProblem, ...]


@attrs.frozen
class PlanResult:
    plan: Plan
    attempts: tuple[PlanAttempt, ...]


async def make_plan(
    engine: Engine,
    planner: RoutineLike,
    objective: str,
    *,
    capabilities: Iterable[str],
    routines: Iterable[str] | None = None,
    budget: float | None = None,
    attempts: int = 3,
    limits: Limits | None = None,
    labels: dict[str, str] | None = None,
) -> PlanResult:
    """Run ``planner`` until it proposes a plan that can run (``check_plan`` finds nothing), at most
    ``attempts`` times; ``PlanError`` with the last attempt's problems otherwise (code of the first
    problem, or ``planner_failed`` when the planner's run itself failed)."""
    capabilities = sorted(set(capabilities))
    known = None if routines is None else sorted(set(routines))
    done: list[PlanAttempt] = []
    problems: list[PlanProblem] = []
    for _ in range(max(attempts, 1)):
        inputs: dict[str, Any] = {
            "objective": objective,
            "capabilities": capabilities,
            "routines": known or [],
            "budget": budget,
            "problems": [attrs.asdict(p) for p in problems],
        }
        run = await engine.run(planner, inputs, limits=limits, labels=labels)
        if run.status is not RunStatus.COMPLETED:
            reason = run.error.message if run.error is not None else str(run.status)
            problem = PlanProblem("planner_failed", f"the planner's run {run.id} {run.status}: {reason}")
            done.append(PlanAttempt(run.id, (problem,)))
            raise PlanningError([problem], tuple(done), objective)
        written = (run.outputs or {}).get("plan", run.outputs)
        try:
            plan = parse_plan(written)
        except PlanError as exc:
            problems = list(exc.problems)
        else:
            problems = check_plan(plan, capabilities=capabilities, routines=known, budget=budget)
            if not problems:
                done.append(PlanAttempt(run.id, ()))
                return PlanResult(plan, tuple(done))
        done.append(PlanAttempt(run.id, tuple(problems)))
    raise PlanningError(problems, tuple(done), objective)


class PlanningError(PlanError):
    """The planner gave no plan that can run: ``problems`` are the last attempt's, ``attempts``
    every run of the planner with its problems."""

    def __init__(self, problems: Iterable[PlanProblem], attempts: tuple[PlanAttempt, ...], objective: str) -> None:
        super().__init__(problems, what=f"planning {objective!r} ({len(attempts)} attempts)")
        self.attempts = attempts
