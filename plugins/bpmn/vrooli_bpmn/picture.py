"""Pictures of BPMN models: every flow node of every process, at its diagram (DI) bounds when the
file has them; sequence flows with their waypoints and conditions; message flows between nodes.

:func:`picture_of_source` reads a file leniently, so models that cannot run (an unsupported element,
a non-executable process) still draw.
"""

from __future__ import annotations

from typing import Any

import attrs

from vrooli_bpmn.model import Definitions, Kind, Node, Trigger
from vrooli_bpmn.parser import Parser
from vrooli_core.model import Graph, RoutineSource
from vrooli_core.picture import Picture, PictureEdge, PictureNode
from vrooli_core.picture_layout import place_missing

__all__ = ["picture_of_definitions", "picture_of_graph", "picture_of_source", "run_visits"]

_KINDS = {
    Kind.START: "start",
    Kind.END: "end",
    Kind.CATCH: "event",
    Kind.THROW: "event",
    Kind.BOUNDARY: "event",
    Kind.USER: "human",
    Kind.SUBPROCESS: "subprocess",
    Kind.TRANSACTION: "subprocess",
    Kind.AD_HOC: "subprocess",
    Kind.CALL: "subprocess",
}
_GATEWAY_MARKERS = {
    Kind.EXCLUSIVE: "X",
    Kind.PARALLEL: "+",
    Kind.INCLUSIVE: "O",
    Kind.EVENT_BASED: "\u2b20",  # a pentagon, as in BPMN's event-based marker
    Kind.COMPLEX: "*",
}
_TRIGGER_MARKERS = {
    Trigger.MESSAGE: "\u2709",  # envelope
    Trigger.TIMER: "\u25f7",  # clock face
    Trigger.SIGNAL: "\u25b3",  # triangle
    Trigger.ERROR: "\u03df",  # lightning
    Trigger.ESCALATION: "\u2191",
    Trigger.CONDITIONAL: "\u2261",
    Trigger.LINK: "\u2192",
    Trigger.COMPENSATE: "\u23ea",
    Trigger.CANCEL: "\u2715",
    Trigger.TERMINATE: "\u25cf",
}
#: Longest condition text shown on a flow.
_LABEL_MAX = 40


def picture_of_graph(graph: Graph) -> Picture:
    """The picture of a loaded BPMN graph (``graph.data`` is the navigator's ``Compiled``)."""
    return picture_of_definitions(graph.data.defs, title=graph.routine.name or graph.routine.id)


def picture_of_source(source: RoutineSource) -> Picture:
    """The picture of a BPMN file read leniently: whatever would stop it running is ignored (loading
    it for running says what that is). Raises :class:`~vrooli_core.errors.RoutineError` only when
    the file is no BPMN model at all (malformed or hostile XML, no process).
    """
    defs, _ = Parser(source, lenient=True).parse()
    main = defs.processes.get(defs.main or "")
    return picture_of_definitions(defs, title=(main.name or main.id) if main is not None else defs.id)


def picture_of_definitions(defs: Definitions, *, title: str = "", warnings: tuple[str, ...] = ()) -> Picture:
    """Nodes of every process (``parent``: the enclosing subprocess), their flows, and message
    flows whose both ends are flow nodes; a boundary event is ``attached`` to its activity."""
    nodes: list[PictureNode] = []
    edges: list[PictureEdge] = []
    known: set[str] = set()
    for process in defs.processes.values():
        for node in process.nodes.values():
            known.add(node.id)
            nodes.append(_node(node, defs.shapes.get(node.id)))
            if node.kind is Kind.BOUNDARY and node.attached_to in process.nodes:
                edges.append(PictureEdge(f"{node.id}~attached", node.attached_to, node.id, kind="attached"))
        for flow in process.flows.values():
            label = flow.name
            if not label and flow.condition is not None:
                label = _shorten(" ".join(str(flow.condition.text).split()))
            if not label and process.nodes[flow.source].default == flow.id:
                label = "default"
            points = tuple((float(x), float(y)) for x, y in defs.edges.get(flow.id, ()))
            edges.append(PictureEdge(flow.id, flow.source, flow.target, label, points))
    for n, (source, target, name) in enumerate(defs.message_flows):
        if source in known and target in known:
            edges.append(PictureEdge(f"~message{n}", source, target, name or "", kind="message"))
    picture = Picture(tuple(nodes), tuple(edges), title=title, warnings=warnings)
    missing = sorted(n.id for n in nodes if not n.has_bounds)
    if missing and len(missing) < len(nodes):
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        note = (
            f"{len(missing)} of {len(nodes)} elements have no diagram coordinates ({shown}); "
            "they are laid out below the diagram"
        )
        picture = attrs.evolve(place_missing(picture), warnings=(*warnings, note))
    return picture


def _node(node: Node, bounds: tuple[float, float, float, float] | None) -> PictureNode:
    kind = _KINDS.get(node.kind, "gateway" if node.kind.is_gateway else "task")
    detail = _GATEWAY_MARKERS.get(node.kind, "")
    if node.kind.is_event and node.events:
        detail = _TRIGGER_MARKERS.get(node.events[0].trigger, "")
    label = node.name or ("" if node.kind.is_event or node.kind.is_gateway else node.id)
    x, y, w, h = bounds if bounds is not None else (None, None, None, None)
    return PictureNode(node.id, label, kind, x, y, w, h, parent=node.scope, detail=detail)


def _shorten(text: str) -> str:
    return text if len(text) <= _LABEL_MAX else text[: _LABEL_MAX - 3] + "..."


def run_visits(graph: Graph, steps: dict[str, int], history: Any) -> dict[str, int]:
    """``steps`` (a run's visits to steps) plus the elements its tokens passed without stopping:
    gateways and events between a step (or the start) and the steps its decision created tokens at,
    and the one end event a step's token could only have ended at."""
    compiled = graph.data
    counts = dict(steps)
    for event in history:
        payload = event.payload
        if event.type == "run.decided" and getattr(payload, "cause", None) == "start":
            process = compiled.defs.processes[compiled.defs.main]
            sources = list(process.starts)
        elif event.type == "step.completed":
            sources = [payload.step]
        else:
            continue
        decision = getattr(payload, "decision", None)
        if decision is None or decision.error is not None:
            continue
        targets = {nt.location for nt in decision.create}
        for source in sources:
            for node in _passed(compiled, source, targets):
                counts[node] = counts.get(node, 0) + 1
    return counts


def _passed(compiled: Any, source: str, targets: set[str]) -> list[str]:
    """The elements that are not activities on the way from ``source`` to each of ``targets`` (found
    breadth first through gateways and events); with no target, the way to the single end event
    reachable that way, if there is exactly one."""
    try:
        process = compiled.process_of(source)
    except KeyError:
        return []
    first = process.nodes[source]
    parent: dict[str, str | None] = {source: None}
    queue = [source]
    ends: list[str] = []
    found: list[str] = []
    while queue:
        current = queue.pop(0)
        for flow in process.nodes[current].outgoing:
            nxt = process.flows[flow].target
            if nxt in parent:
                continue
            parent[nxt] = current
            node = process.nodes[nxt]
            if nxt in targets:
                found.append(nxt)
            elif node.kind is Kind.END:
                ends.append(nxt)
            elif not node.kind.is_activity and not (node.kind is Kind.CATCH and node.events and node.events[0].trigger is not Trigger.LINK):
                queue.append(nxt)
    if not targets and len(ends) == 1:
        found = ends
    passed: list[str] = []
    for end in found:
        node_id = end if end not in targets else parent[end]
        while node_id is not None and node_id != source:
            if node_id not in passed:
                passed.append(node_id)
            node_id = parent[node_id]
    if first.kind is Kind.START and source not in passed:
        passed.append(source)
    return passed
