"""Planning: a routine turns an objective into a plan. The planner is an ordinary routine — usually
one ``reasoning`` model step whose output schema is ``PLAN_SCHEMA`` (vrooli-litellm), or anything a
user supplies in any format — so its runs are recorded, limited and inspectable like every other.

Each attempt runs the planner with the objective, what the swarm can do (its capabilities and
routines), the budget, and the problems of the attempt before. Its output (``outputs["plan"]``, or
the outputs themselves) is read as a plan and checked; a plan with problems is handed back for
repair, up to ``attempts`` runs, and then rejected with every problem of the last attempt.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from vrooli_core.coordination.plan import Plan, PlanError, PlanProblem, check_plan, parse_plan
from vrooli_core.model import RoutineSource, RunStatus

if TYPE_CHECKING:
    from vrooli_core.engine.engine import Engine, RoutineLike
    from vrooli_core.model import Limits

__all__ = ["PLANNER_INSTRUCTIONS", "PlanAttempt", "PlanResult", "PlanningError", "default_planner", "make_plan"]


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
    done: Mapping[str, Any] | None = None,
    problems: Iterable[PlanProblem] = (),
) -> PlanResult:
    """Run ``planner`` until it proposes a plan that can run (``check_plan`` finds nothing), at most
    ``attempts`` times; ``PlanError`` with the last attempt's problems otherwise (code of the first
    problem, or ``planner_failed`` when the planner's run itself failed).

    A re-plan passes ``done`` (the tasks finished so far, by id, with their results: the planner's
    input ``done``; the new plan may depend on them and must not reuse their ids) and the
    ``problems`` that made it necessary (a failed task), which the first attempt sees."""
    capabilities = sorted(set(capabilities))
    known = None if routines is None else sorted(set(routines))
    finished = dict(done or {})
    made: list[PlanAttempt] = []
    problems = list(problems)
    for _ in range(max(attempts, 1)):
        inputs: dict[str, Any] = {
            "objective": objective,
            "capabilities": capabilities,
            "routines": known or [],
            "budget": budget,
            "problems": [attrs.asdict(p) for p in problems],
            "done": finished,
        }
        run = await engine.run(planner, inputs, limits=limits, labels=labels)
        if run.status is not RunStatus.COMPLETED:
            reason = run.error.message if run.error is not None else str(run.status)
            problem = PlanProblem("planner_failed", f"the planner's run {run.id} {run.status}: {reason}")
            made.append(PlanAttempt(run.id, (problem,)))
            raise PlanningError([problem], tuple(made), objective)
        written = _written_plan(run.outputs)
        try:
            plan = parse_plan(written)
        except PlanError as exc:
            problems = list(exc.problems)
        else:
            problems = check_plan(plan, capabilities=capabilities, routines=known, budget=budget, done=finished)
            if not problems:
                made.append(PlanAttempt(run.id, ()))
                return PlanResult(plan, tuple(made))
        made.append(PlanAttempt(run.id, tuple(problems)))
    raise PlanningError(problems, tuple(made), objective)


def _written_plan(outputs: Mapping[str, Any] | None) -> Any:
    """The plan in a planner run's outputs: ``plan``, else ``result`` (a one-step routine's output,
    itself a plan or ``{"plan": ...}``), else the outputs themselves."""
    outputs = dict(outputs or {})
    if "plan" in outputs:
        return outputs["plan"]
    if "result" in outputs:
        result = outputs["result"]
        return result["plan"] if isinstance(result, Mapping) and "plan" in result else result
    return outputs


PLANNER_INSTRUCTIONS = """You plan work for a team of agents and people. Break the objective into tasks that together
achieve it. Each task has a short id, a title, a description of what to deliver, the ids of the tasks
it needs first (depends_on), the capabilities its assignee must have (only from the capabilities
listed), a routine to run if one of the listed routines does the task, and an estimate in credits.
Tasks without dependencies between them run in parallel. Stay within the budget. If problems are
listed, they are what was wrong with your previous plan or what failed: fix them. Tasks listed under
done are finished: build on them (depend on their ids), do not repeat them, do not reuse their ids."""


def default_planner(
    model: str | None = None, *, instructions: str = PLANNER_INSTRUCTIONS, config: Mapping[str, Any] | None = None
) -> RoutineSource:
    """The planner routine used when none is given: one ``reasoning`` model step (from a plugin such
    as vrooli-litellm) asked for a plan in ``PLAN_SCHEMA`` as its structured output, with the
    planning instructions as its persona. ``model``: the model to ask (else the plugin's default);
    ``config``: more step configuration for the model plugin (``params``, ``max_repairs``, …)."""
    from vrooli_core.coordination.plan import PLAN_SCHEMA
    from vrooli_core.coordination.task_routine import task_routine

    config = {"persona": {"role": "a planner", "instructions": instructions}, "output_schema": dict(PLAN_SCHEMA), **(config or {})}
    if model:
        config["model"] = model
    return task_routine("swarm.planner", {"kind": "model", "strategy": "reasoning", "config": config, "name": "Plan the objective"})


class PlanningError(PlanError):
    """The planner gave no plan that can run: ``problems`` are the last attempt's, ``attempts``
    every run of the planner with its problems."""

    def __init__(self, problems: Iterable[PlanProblem], attempts: tuple[PlanAttempt, ...], objective: str) -> None:
        super().__init__(problems, what=f"planning {objective!r} ({len(attempts)} attempts)")
        self.attempts = attempts
