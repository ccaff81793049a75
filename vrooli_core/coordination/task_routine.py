"""One-step routines: what a swarm runs for a task that names no routine of its own — the assigned
agent reasoning with its persona and tools (a ``model`` step), or a person answering (a ``human``
step) — and for an escalation. A kernel builtin navigator (format ``task``, files ``*.task.json``),
so a swarm needs no other plugin to hand its work to the engine: the run is recorded, limited,
checked and resumable like any other.

The source is JSON::

    {"id": "agent.analyst", "version": "1", "name": "...",
     "step": {"kind": "model", "strategy": "auto", "config": {...}, "timeout": 60}}

The step reads every run variable (the task, its context, its dependencies' results); the run's
output ``result`` is the step's output.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from vrooli_core.engine.navigator import Navigator, RunView
from vrooli_core.errors import RoutineError
from vrooli_core.model import (
    Decision,
    Graph,
    IOMapping,
    Outcome,
    OutcomeStatus,
    RoutineDef,
    RoutineSource,
    StepDef,
    StepKind,
    Token,
    goto,
)

__all__ = ["STEP", "TaskRoutineNavigator", "task_routine"]

#: The id of the one step.
STEP = "task"
_TOP = frozenset({"id", "version", "name", "description", "step"})
_STEP = frozenset({"kind", "name", "strategy", "config", "timeout"})
_KINDS = frozenset({StepKind.MODEL, StepKind.HUMAN, StepKind.TOOL, StepKind.CODE, StepKind.API, StepKind.NOOP})


def task_routine(routine_id: str, step: Mapping[str, Any], *, name: str = "", version: str = "1") -> RoutineSource:
    """The source of a one-step routine ``routine_id`` doing ``step`` (``kind``, ``strategy``,
    ``config``, ``timeout``). The same step gives the same source, so its version is stored once."""
    text = json.dumps({"id": routine_id, "version": version, "name": name, "step": dict(step)}, sort_keys=True, ensure_ascii=False)
    return RoutineSource(text, f"{routine_id}.task.json", TaskRoutineNavigator.name)


class TaskRoutineNavigator(Navigator):
    name: ClassVar[str] = "task"
    suffixes: ClassVar[tuple[str, ...]] = (".task.json",)
    supports_parallel: ClassVar[bool] = False

    def load(self, source: RoutineSource) -> Graph:
        where = source.path
        try:
            data = json.loads(source.text)
        except json.JSONDecodeError as exc:
            raise RoutineError(f"not JSON: {exc.msg}", source=where, line=exc.lineno) from None
        if not isinstance(data, Mapping):
            raise RoutineError("a task routine is a JSON object", source=where)
        problems = [f"unsupported key {key!r}" for key in sorted(set(data) - _TOP)]
        raw = data.get("step")
        if not isinstance(raw, Mapping):
            problems.append("'step' must be an object")
            raw = {}
        problems += [f"unsupported step key {key!r}" for key in sorted(set(raw) - _STEP)]
        try:
            kind = StepKind(raw.get("kind", "model"))
        except ValueError:
            kind = None
        if kind not in _KINDS:
            allowed = ", ".join(sorted(k.value for k in _KINDS))
            problems.append(f"unsupported step kind {raw.get('kind')!r} (a task routine's step is one of {allowed})")
        if not isinstance(raw.get("config", {}), Mapping):
            problems.append("step 'config' must be an object")
        timeout = raw.get("timeout")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
            problems.append(f"step 'timeout' must be a positive number of seconds, got {timeout!r}")
        if not data.get("id") or not isinstance(data.get("id"), str):
            problems.append("'id' must be a non-empty string")
        if problems:
            raise RoutineError("; ".join(problems), source=where, element=STEP if raw else None)
        assert kind is not None
        step = StepDef(
            STEP,
            kind=kind,
            name=str(raw.get("name") or data.get("name") or ""),
            strategy=raw.get("strategy"),
            config=dict(raw.get("config") or {}),
            io=IOMapping(inputs=None, outputs={}),
            timeout=float(timeout) if timeout is not None else None,
        )
        routine = RoutineDef(
            id=data["id"],
            format=self.name,
            content_hash=source.content_hash,
            version=str(data.get("version", "")),
            name=str(data.get("name", "")),
            description=str(data.get("description", "")),
        )
        return Graph(routine=routine, steps={STEP: step}, data={})

    def start(self, graph: Graph, view: RunView) -> Decision:
        return goto(STEP)

    def next(self, graph: Graph, view: RunView, token: Token, outcome: Outcome) -> Decision:
        if outcome.status is OutcomeStatus.FAILED:
            return Decision(error=outcome.error)
        return Decision(complete=True, outputs={"result": outcome.output})
