"""A chooser that asks a routine — by default one model step — which qualified candidate should get a
task. Its answer is only a proposal: :func:`~vrooli_core.coordination.assign.assign_tasks` refuses
a name that is not qualified (or is excluded), within a bounded number of attempts, and then falls
back to the deterministic choice. Every question is a recorded run, labelled with the swarm."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from vrooli_core.coordination.assign import Candidate, Chooser
from vrooli_core.coordination.errors import CoordinationError as _Base
from vrooli_core.coordination.plan import PlannedTask
from vrooli_core.model import RoutineSource, RunStatus

if TYPE_CHECKING:
    from vrooli_core.engine.engine import Engine, RoutineLike

__all__ = ["CHOOSER_INSTRUCTIONS", "ChooserError", "default_chooser", "routine_chooser"]

CHOOSER_INSTRUCTIONS = """You assign a task to one member of a team. Every candidate listed can do it. Pick the one best
suited to the task, considering their role, goal and how many tasks they already have. Answer with
the candidate's name as "assignee"."""

#: The structured answer asked of the model.
CHOICE_SCHEMA: Mapping[str, Any] = {
    "type": "object",
    "required": ["assignee"],
    "additionalProperties": False,
    "properties": {"assignee": {"type": "string"}, "why": {"type": "string"}},
}


class ChooserError(_Base):
    """The chooser's run did not complete (it counts as one failed attempt)."""


def default_chooser(model: str | None = None, *, config: Mapping[str, Any] | None = None) -> RoutineSource:
    """The chooser routine: one ``reasoning`` model step answering ``{"assignee": name}``."""
    from vrooli_core.coordination.task_routine import task_routine

    step_config: dict[str, Any] = {"persona": {"role": "a dispatcher", "instructions": CHOOSER_INSTRUCTIONS}, "output_schema": dict(CHOICE_SCHEMA)}
    if model:
        step_config["model"] = model
    step_config.update(config or {})
    return task_routine("swarm.chooser", {"kind": "model", "strategy": "reasoning", "config": step_config, "name": "Choose an assignee"})


def routine_chooser(
    engine: Engine,
    routine: RoutineLike | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    profiles: Mapping[str, Mapping[str, Any]] | None = None,
    runs: list[str] | None = None,
) -> Chooser:
    """A :data:`Chooser` that runs ``routine`` (default: :func:`default_chooser`) with the inputs
    ``task`` (id, title, description, capabilities) and ``candidates`` (name, kind, capabilities, and
    what ``profiles`` says of them: role, goal, …); its answer is ``assignee`` of its output (or the
    output itself, a name). ``runs``: a list the id of every run is appended to (to count their cost)."""
    chooser_routine = routine if routine is not None else default_chooser()

    async def choose(task: PlannedTask, candidates: Sequence[Candidate]) -> str | None:
        inputs = {
            "task": {"id": task.id, "title": task.title, "description": task.description, "capabilities": list(task.capabilities)},
            "candidates": [
                {"name": c.name, "kind": c.kind, "capabilities": sorted(c.capabilities), **dict((profiles or {}).get(c.name, {}))}
                for c in candidates
            ],
        }
        run = await engine.run(chooser_routine, inputs, labels=dict(labels or {}))
        if runs is not None:
            runs.append(run.id)
        if run.status is not RunStatus.COMPLETED:
            reason = run.error.message if run.error is not None else str(run.status)
            raise ChooserError(f"the chooser's run {run.id} {run.status}: {reason}")
        answer = (run.outputs or {}).get("result", run.outputs)
        if isinstance(answer, Mapping):
            answer = answer.get("assignee")
        return None if answer is None else str(answer)

    return choose
