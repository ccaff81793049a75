"""Pictures of routines: a format-neutral drawing model and its Mermaid and SVG renderings.

A navigator describes its graph as a :class:`Picture` (see ``Navigator.picture``); :func:`to_mermaid`
and :func:`to_svg` render it, optionally colouring the locations a run visited (:func:`visits`
counts them from a run's history). SVG uses the picture's own coordinates when every node has them
(a BPMN file's diagram) and an automatic layered layout otherwise; nothing here recurses, so a
100,000-node chain draws.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

__all__ = ["Picture", "PictureEdge", "PictureNode", "to_mermaid", "to_svg", "visits"]


@attrs.frozen
class PictureNode:
    """One element of a picture.

    ``kind`` chooses the shape: ``start``, ``end``, ``event``, ``task``, ``human``, ``gateway``,
    ``subprocess`` (anything else is drawn as a task). ``x``/``y``/``width``/``height`` are where to
    draw it: the element's bounds in the source's own diagram, when it has one. ``parent`` is the node that contains
    this one (an expanded subprocess). ``detail`` is a short qualifier drawn in the shape: a gateway's
    marker (``X``, ``+``, ``○``), an event's trigger glyph.
    """

    id: str
    label: str
    kind: str
    x: float | None = None
    y: float | None = None
    width: float | None = None
    height: float | None = None
    parent: str | None = None
    detail: str = ""

    @property
    def bounds(self) -> tuple[float, float, float, float] | None:
        """``(x, y, width, height)`` when all four are known, else ``None``."""
        if self.x is None or self.y is None or self.width is None or self.height is None:
            return None
        return self.x, self.y, self.width, self.height

    @property
    def has_bounds(self) -> bool:
        return self.bounds is not None


@attrs.frozen
class PictureEdge:
    """A connection. ``kind``: ``sequence`` (the default), ``message`` (drawn dashed), ``attached``
    (a boundary event to its activity: dotted, no arrow). ``points`` are the source diagram's waypoints."""

    id: str
    source: str
    target: str
    label: str = ""
    points: tuple[tuple[float, float], ...] = ()
    kind: str = "sequence"


@attrs.frozen
class Picture:
    """What a routine looks like; ``warnings`` say what could not be drawn faithfully."""

    nodes: tuple[PictureNode, ...]
    edges: tuple[PictureEdge, ...]
    title: str = ""
    warnings: tuple[str, ...] = ()


def visits(history: Iterable[Any]) -> dict[str, int]:
    """How often a run's steps ran, by location, from its events: a step counts once per token that
    completed or suspended at it (a suspended step that later completes, or is retried, counts once)."""
    seen: set[tuple[str, str]] = set()
    counts: dict[str, int] = {}
    for event in history:
        if event.type not in ("step.completed", "step.suspended"):
            continue
        key = (event.payload.token, event.payload.step)
        if key not in seen:
            seen.add(key)
            counts[key[1]] = counts.get(key[1], 0) + 1
    return counts


# -- Mermaid --------------------------------------------------------------------------------------

_MERMAID_SHAPES = {
    "start": ("((", "))"),
    "end": ("((", "))"),
    "event": ("(((", ")))"),
    "task": ("(", ")"),
    "human": ("([", "])"),
    "gateway": ("{", "}"),
    "subprocess": ("[[", "]]"),
}
_MERMAID_ARROWS = {"message": "-.->", "attached": "-.-"}
_MERMAID_RESERVED = {
    "end", "graph", "flowchart", "subgraph", "style", "class", "classdef", "click", "linkstyle",
    "direction", "default", "call", "href", "callback", "interpolate",
}
_MERMAID_ESCAPES = {'"': "#quot;", "#": "#35;", "&": "#amp;", "<": "#lt;", ">": "#gt;", "|": "#124;", "`": "#96;"}
_MERMAID_SPECIAL = re.compile(r'["#&<>|`]')
VISITED_FILL, VISITED_STROKE = "#c6f6d5", "#2f855a"


def to_mermaid(picture: Picture, visited: Mapping[str, int] | None = None) -> str:
    """A Mermaid ``flowchart LR``: shapes by kind, containers as subgraphs, message flows dashed;
    nodes in ``visited`` get the ``visited`` class and their count in the label."""
    visited = visited or {}
    names = _mermaid_ids(picture.nodes)
    children = children_of(picture.nodes)
    lines = ["flowchart LR"]
    if picture.title:
        lines.append(f"  %% {_one_line(picture.title)}")
    # Containers open a subgraph; a worklist of (node, depth) or ("", depth) closing markers.
    pending: list[tuple[PictureNode | None, int]] = [(n, 1) for n in reversed(children.get(None, []))]
    while pending:
        node, depth = pending.pop()
        pad = "  " * depth
        if node is None:
            lines.append(f"{pad}end")
            continue
        label = _mermaid_label(node, visited.get(node.id))
        inner = children.get(node.id)
        if inner:
            lines.append(f'{pad}subgraph {names[node.id]} ["{label}"]')
            lines.append(f"{pad}  direction LR")
            pending.append((None, depth))
            pending.extend((n, depth + 1) for n in reversed(inner))
        else:
            opening, closing = _MERMAID_SHAPES.get(node.kind, ("[", "]"))
            lines.append(f'{pad}{names[node.id]}{opening}"{label}"{closing}')
    for edge in picture.edges:
        if edge.source not in names or edge.target not in names:
            continue
        arrow = _MERMAID_ARROWS.get(edge.kind, "-->")
        text = f'|"{_mermaid_text(edge.label)}"|' if edge.label else ""
        lines.append(f"  {names[edge.source]} {arrow}{text} {names[edge.target]}")
    ends = [names[n.id] for n in picture.nodes if n.kind == "end" and not children.get(n.id)]
    if ends:
        lines.append("  classDef endEvent stroke-width:4px")
        lines.append(f"  class {','.join(ends)} endEvent")
    seen = [names[n.id] for n in picture.nodes if visited.get(n.id)]
    if seen:
        lines.append(f"  classDef visited fill:{VISITED_FILL},stroke:{VISITED_STROKE},stroke-width:2px")
        lines.append(f"  class {','.join(seen)} visited")
    return "\n".join(lines) + "\n"


def _mermaid_ids(nodes: Iterable[PictureNode]) -> dict[str, str]:
    """Mermaid-safe, unique node ids that stay close to the originals."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for node in nodes:
        if node.id in names:
            continue
        base = re.sub(r"[^A-Za-z0-9_]", "_", node.id)
        if not base or base[0].isdigit() or base.casefold() in _MERMAID_RESERVED:
            base = f"n_{base}"
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        names[node.id] = name
    return names


def _mermaid_label(node: PictureNode, count: int | None) -> str:
    text = node.label or node.detail or " "
    if count:
        text = f"{text} ({count}x)"
    return _mermaid_text(text)


def _mermaid_text(text: str) -> str:
    text = _MERMAID_SPECIAL.sub(lambda m: _MERMAID_ESCAPES[m.group()], xml_safe(text))
    return text.replace("\r\n", "\n").replace("\n", "<br>")


def _one_line(text: str) -> str:
    return " ".join(xml_safe(text).split()).lstrip("{")


def children_of(nodes: Iterable[PictureNode]) -> dict[str | None, list[PictureNode]]:
    """Nodes by container (``None``: top level), in picture order. A missing parent puts a node at
    the top level and a cycle of parents is broken at one node, so every node appears exactly once."""
    by_id = {n.id: n for n in nodes}
    parent_of: dict[str, str | None] = {}
    for start in by_id:
        path: list[str] = []
        on_path: set[str] = set()
        cur: str | None = start
        while cur is not None and cur not in parent_of and cur not in on_path:
            path.append(cur)
            on_path.add(cur)
            parent = by_id[cur].parent
            cur = parent if parent in by_id else None
        for nid in path:
            parent = by_id[nid].parent
            parent_of[nid] = parent if parent in by_id else None
        if cur is not None and cur in on_path:  # the walk came back to itself: a cycle
            parent_of[cur] = None
    out: dict[str | None, list[PictureNode]] = {}
    for node in by_id.values():
        out.setdefault(parent_of[node.id], []).append(node)
    return out


_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """Characters XML 1.0 cannot hold (control characters, lone surrogates) become U+FFFD."""
    return _XML_INVALID.sub("\ufffd", text)


def to_svg(picture: Picture, visited: Mapping[str, int] | None = None) -> str:
    """A standalone SVG document (see :mod:`vrooli_core.picture_svg`)."""
    from vrooli_core.picture_svg import render

    return render(picture, visited or {})
