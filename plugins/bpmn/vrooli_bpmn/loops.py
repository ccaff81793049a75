"""Standard loops and multi-instance activities, and what happens when an activity instance completes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from vrooli_bpmn.model import Node, Process
from vrooli_core.model import ErrorInfo, Outcome, WaitKind, WaitSpec
from vrooli_core.model.empty import EMPTY

if TYPE_CHECKING:
    from vrooli_bpmn.movement import Move


def enter_looped(move: Move, process: Process, node: Node, scope: str | None, loc: Mapping[str, Any]) -> None:
    from vrooli_bpmn.movement import BpmnError

    loop = node.loop
    assert loop is not None
    if not loop.multi:
        if loop.test_before and not (loop.condition is not None and move.evaluate(loop.condition, node.id)):
            move.leave_activity(process, node, scope, loc)
            return
        move.instance(process, node, scope, loc, {"loop": 1})
        return
    items = _items(move, node)
    if items is None:
        raise BpmnError(ErrorInfo("expression_error", f"multi-instance {node.id!r}: the collection is not a list", "BpmnError", node.id))
    key = f"mi{move.get('mi#', 0) + 1}"
    move.put("mi#", move.get("mi#", 0) + 1)
    move.put(f"mi:{scope}:{key}", {"n": len(items), "done": 0, "out": [None] * len(items), "items": items})
    if not items:
        _finish_multi(move, process, node, scope, loc, key)
        return
    if node.boundaries:
        # Boundary events attach to the multi-instance body (one token for all instances), not to
        # each instance: an interrupting one ends them all; a non-interrupting one fires once.
        waits = [WaitSpec(WaitKind.INTERNAL, key=f"mi:{node.id}"), *move.boundary_waits(process, node)]
        move.spawn(node.id, scope, data={"mib": key}, locals_=loc, waits=waits)
    for i in range(1 if loop.sequential else len(items)):
        move.instance(process, node, scope, _instance_locals(node, loc, items, i), {"mi": key, "i": i})


def _items(move: Move, node: Node) -> list[Any] | None:
    loop = node.loop
    assert loop is not None
    if loop.cardinality is not None:
        n = move.evaluate(loop.cardinality, node.id)
        return list(range(int(n))) if isinstance(n, (int, float)) and n >= 0 else None
    source = loop.collection
    value = move.evaluate(source, node.id) if hasattr(source, "evaluate") else _path(move.names(), str(source))
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else None


def _path(names: Mapping[str, Any], path: str) -> Any:
    value: Any = names
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def _instance_locals(node: Node, loc: Mapping[str, Any], items: list[Any], i: int) -> Mapping[str, Any]:
    loop = node.loop
    assert loop is not None
    extra = {"loopCounter": i + 1}
    if loop.element_variable:
        extra[loop.element_variable] = items[i]
    return {**loc, **extra}


def completed(
    move: Move, process: Process, node: Node, scope: str | None, data: Mapping[str, Any], loc: Mapping[str, Any],
    outcome: Outcome | None, *, inner: list[Any] | None = None,
) -> None:
    """An activity instance completed: repeat it (loops), count it (multi-instance) or leave it.
    ``inner``: for a subprocess, the compensable activities that completed inside it."""
    if "comp" in data:
        move.handler_done(str(data["comp"]), scope)
        return
    move.record_compensable(node, scope, loc, inner)
    loop = node.loop
    if loop is not None and "loop" in data:
        n = int(data["loop"])
        again = loop.condition is not None and move.evaluate(loop.condition, node.id)
        if again and (loop.maximum is None or n < loop.maximum):
            move.instance(process, node, scope, loc, {"loop": n + 1})
            return
    elif loop is not None and "mi" in data:
        key = f"mi:{scope}:{data['mi']}"
        state = dict(move.get(key) or {})
        if not state:
            return  # the multi-instance already finished (completion condition) or was cancelled
        i = int(data["i"])
        state["done"] += 1
        out = list(state["out"])
        out[i] = _output_element(move, node, outcome)
        state["out"] = out
        move.put(key, state)
        done = state["done"] >= state["n"] or (loop.completion is not None and move.evaluate(loop.completion, node.id))
        if not done:
            if loop.sequential:
                move.instance(process, node, scope, _instance_locals(node, {k: v for k, v in loc.items() if k != loop.element_variable and k != "loopCounter"}, state["items"], i + 1), {"mi": data["mi"], "i": i + 1})
            return
        for token in list(move.view.tokens.values()):
            if token.location == node.id and data["mi"] in (token.data.get("mi"), token.data.get("mib")) and token.scope == scope:
                move.kill(token)
        _finish_multi(move, process, node, scope, EMPTY, str(data["mi"]))
        return
    move.leave_activity(process, node, scope, {k: v for k, v in loc.items() if k != "loopCounter"} if loc else EMPTY)


def _output_element(move: Move, node: Node, outcome: Outcome | None) -> Any:
    loop = node.loop
    assert loop is not None
    output = outcome.output if outcome is not None else None
    element = loop.output_element
    if element is None:
        return output
    # The instance's result shadows its input element (as the job's variables do in Camunda 8).
    names = {**move.names(), **(output if isinstance(output, Mapping) else {})}
    if hasattr(element, "evaluate"):
        try:
            return element.evaluate(names)
        except Exception as exc:  # the compiled expression's own error type; reported on the element
            from vrooli_bpmn.movement import BpmnError

            raise BpmnError(ErrorInfo("expression_error", str(exc), "ExpressionError", node.id)) from None
    return names.get(str(element))


def _finish_multi(move: Move, process: Process, node: Node, scope: str | None, loc: Mapping[str, Any], key: str) -> None:
    state = move.get(f"mi:{scope}:{key}") or {}
    loop = node.loop
    assert loop is not None
    if loop.output_collection:
        move.variables[loop.output_collection] = list(state.get("out", []))
    move.drop(f"mi:{scope}:{key}")
    move.leave_activity(process, node, scope, loc)
