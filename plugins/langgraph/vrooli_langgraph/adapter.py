"""A vrooli routine as a LangGraph node: the node runs the routine through a vrooli engine (a recorded,
limited, checked run of its own, in any format) and returns the run's outputs as its state update.

    graph.add_node("enrich", routine_node(engine, "enrich.bpmn"))
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from vrooli_core.errors import VrooliError
from vrooli_core.model import RunStatus

if TYPE_CHECKING:
    from vrooli_core.engine.engine import Engine, RoutineLike

__all__ = ["RoutineNodeError", "routine_node"]


class RoutineNodeError(VrooliError):
    """The routine's run did not complete (it failed, was cancelled, or waits for a person and the
    node was not told to wait)."""

    code = "routine_node"


def routine_node(
    engine: Engine,
    routine: RoutineLike,
    *,
    inputs: Iterable[str] | None = None,
    outputs: Iterable[str] | None = None,
    wait: bool = False,
    labels: Mapping[str, str] | None = None,
) -> Callable[[Mapping[str, Any]], Awaitable[dict[str, Any]]]:
    """An async LangGraph node running ``routine`` (a path, source, or a loaded ``RoutineDef``).

    ``inputs``: the state keys given to the run (default: the whole state); ``outputs``: the run
    outputs returned as the update (default: all; a one-step routine's ``result`` mapping is
    taken apart). ``wait``: a run that rests waiting for a person
    (or a message, a timer) is waited for until it finishes; otherwise that is an error. A run that
    fails raises :class:`RoutineNodeError` naming the run and its error, so the graph sees the
    failure as LangGraph would any node's."""
    picked_in = None if inputs is None else list(inputs)
    picked_out = None if outputs is None else list(outputs)
    loaded: list[Any] = []

    async def node(state: Mapping[str, Any]) -> dict[str, Any]:
        if not loaded:
            loaded.append(routine if not isinstance(routine, (str, bytes)) or hasattr(routine, "id") else await engine.load(routine))
        given = {k: state[k] for k in picked_in if k in state} if picked_in is not None else dict(state)
        run = await engine.run(loaded[0], given, labels=dict(labels or {}))
        if not run.status.finished and wait:
            run = await engine.wait(run.id, finished=True)
        if run.status is not RunStatus.COMPLETED:
            why = run.error.message if run.error is not None else "it waits; pass wait=True to wait for it"
            raise RoutineNodeError(f"routine {run.routine.id} (run {run.id}) {run.status}: {why}")
        out = dict(run.outputs or {})
        if set(out) == {"result"} and isinstance(out["result"], Mapping):
            out = dict(out["result"])  # a one-step routine (format ``task``): its step's output
        return {k: out[k] for k in picked_out if k in out} if picked_out is not None else out

    return node
