"""SVG for a :class:`~vrooli_core.picture.Picture`: at the picture's own coordinates when every node
has them, else at those of :func:`vrooli_core.picture_layout.layout`."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from itertools import pairwise

from vrooli_core.picture import VISITED_FILL, VISITED_STROKE, Picture, PictureEdge, PictureNode, children_of, xml_safe
from vrooli_core.picture_layout import CHAR_WIDTH, H_GAP, LABEL_BELOW, LINE_HEIGHT, Box, layout, top_down, wrap

Point = tuple[float, float]

_ROUND = LABEL_BELOW - {"gateway"}
_MARGIN = 20.0

_STYLE = f"""
text {{ font-family: sans-serif; font-size: 12px; fill: #222; }}
.node > rect, .node > circle, .node > polygon {{ fill: #fff; stroke: #333; stroke-width: 1.5; }}
.node.container > rect {{ fill: #fafafa; }}
.node.end > circle {{ stroke-width: 3.5; }}
.node.visited > rect, .node.visited > circle, .node.visited > polygon {{ fill: {VISITED_FILL}; stroke: {VISITED_STROKE}; stroke-width: 2.5; }}
.node .glyph {{ fill: none; stroke: #333; stroke-width: 1.2; }}
.label {{ text-anchor: middle; }}
.detail {{ text-anchor: middle; font-size: 16px; }}
.title {{ font-size: 15px; font-weight: bold; }}
.badge > circle {{ fill: {VISITED_STROKE}; }}
.badge > text {{ fill: #fff; font-size: 10px; text-anchor: middle; }}
.edge {{ fill: none; stroke: #555; stroke-width: 1.2; }}
.edge.message {{ stroke-dasharray: 6 4; }}
.edge.attached {{ stroke-dasharray: 2 3; }}
.edge-label {{ font-size: 11px; fill: #444; text-anchor: middle; }}
"""


def render(picture: Picture, visited: Mapping[str, int]) -> str:
    """The SVG document: the picture's own bounds when every node has them, else :func:`layout`."""
    nodes = list({n.id: n for n in picture.nodes}.values())
    given = {n.id: n.bounds for n in nodes}
    own = bool(nodes) and None not in given.values()
    boxes: dict[str, Box] = {k: b for k, b in given.items() if b is not None} if own else layout(picture)
    routes = {
        e.id: _route(e, boxes, own) for e in picture.edges
        if e.source in boxes and e.target in boxes and not (own and e.kind == "attached")
    }
    children = children_of(nodes)
    containers = [n for n in top_down(children) if children.get(n.id)]
    xs = [p[0] for r in routes.values() for p in r]
    ys = [p[1] for r in routes.values() for p in r]
    for node in nodes:  # labels under events and gateways may be wider than their shape
        x, y, w, h = boxes[node.id]
        spread = max(w, CHAR_WIDTH * max((len(line) for line in wrap(node.label, 22)), default=0)) / 2
        xs += (x + w / 2 - spread, x + w / 2 + spread)
        ys += (y, y + h + 40)
    if picture.title:  # the title is written from the left edge: make room for all of it
        xs.append(min(xs, default=0.0) + 8.5 * len(picture.title))
    left, top = min(xs, default=0.0) - _MARGIN, min(ys, default=0.0) - _MARGIN - (28.0 if picture.title else 0.0)
    width, height = max(xs, default=0.0) + _MARGIN - left, max(ys, default=0.0) + _MARGIN - top
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{_n(left)} {_n(top)} {_n(width)} {_n(height)}" '
        f'width="{_n(width)}" height="{_n(height)}">',
        f"<title>{_esc(picture.title or 'routine')}</title>",
        f"<style>{_STYLE}</style>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>',
    ]
    if picture.title:
        out.append(f'<text class="title" x="{_n(left + _MARGIN)}" y="{_n(top + _MARGIN + 8)}">{_esc(picture.title)}</text>')
    for node in containers:
        out.append(_node(node, boxes[node.id], visited.get(node.id, 0), container=True))
    edges = {e.id: e for e in picture.edges}
    for eid, points in routes.items():
        kind = edges[eid].kind
        marker = "" if kind == "attached" else ' marker-end="url(#arrow)"'
        out.append(f'<polyline class="edge {_esc(kind)}" points="{_points(points)}"{marker}/>')
    for node in nodes:
        if not children.get(node.id):
            out.append(_node(node, boxes[node.id], visited.get(node.id, 0), container=False))
    for eid, points in routes.items():
        if edges[eid].label:
            # Near the source (where a gateway's conditions belong), unless the first segment is too short.
            segments = list(pairwise(points))
            (x1, y1), (x2, y2) = segments[0] if _length(segments[0]) >= 40 else max(segments, key=_length)
            out.append(f'<text class="edge-label" x="{_n((x1 + x2) / 2)}" y="{_n((y1 + y2) / 2 - 4)}">{_esc(edges[eid].label)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _node(node: PictureNode, box: Box, count: int, *, container: bool) -> str:
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    classes = f"node {node.kind}{' container' if container else ''}{' visited' if count else ''}"
    tip = node.id + (f": {node.label}" if node.label and node.label != node.id else "") + _times(count)
    parts = [f'<g class="{_esc(classes)}" data-id="{_esc(node.id)}"><title>{_esc(tip)}</title>']
    if node.kind in _ROUND:
        r = min(w, h) / 2
        parts.append(f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}"/>')
        if node.kind == "event":
            parts.append(f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(max(r - 3, 1))}"/>')
    elif node.kind == "gateway":
        parts.append(f'<polygon points="{_points([(cx, y), (x + w, cy), (cx, y + h), (x, cy)])}"/>')
    else:
        parts.append(f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" rx="8"/>')
        if node.kind == "human":
            parts.append(f'<circle class="glyph" cx="{_n(x + 12)}" cy="{_n(y + 10)}" r="4"/>')
            parts.append(f'<path class="glyph" d="M{_n(x + 5)},{_n(y + 23)} q7,-13 14,0"/>')
        elif node.kind == "subprocess" and not container:
            bx, by = cx - 6, y + h - 14
            parts.append(f'<rect class="glyph" x="{_n(bx)}" y="{_n(by)}" width="12" height="12"/>')
            parts.append(f'<path class="glyph" d="M{_n(cx)},{_n(by + 2)} v8 M{_n(bx + 2)},{_n(by + 6)} h8"/>')
    if node.detail and node.kind not in ("task", "human", "subprocess"):
        parts.append(f'<text class="detail" x="{_n(cx)}" y="{_n(cy + 6)}">{_esc(node.detail)}</text>')
    if container:
        parts.append(_text([node.label], x + 8, y + 16, anchor="start"))
    elif node.kind in LABEL_BELOW:
        parts.append(_text(wrap(node.label, 22), cx, y + h + LINE_HEIGHT))
    else:
        lines = wrap(node.label, max(6, int(w / 7.5)))[:4]
        parts.append(_text(lines, cx, cy - 7 * (len(lines) - 1) + 4))
    parts.append("</g>")
    if count:
        parts.append(f'<g class="badge"><circle cx="{_n(x + w)}" cy="{_n(y)}" r="10"/>'
                     f'<text x="{_n(x + w)}" y="{_n(y + 3.5)}">{count}</text></g>')
    return "".join(parts)


def _times(count: int) -> str:
    return "" if not count else " (visited once)" if count == 1 else f" (visited {count} times)"


def _text(lines: list[str], x: float, y: float, *, anchor: str = "middle") -> str:
    lines = [line for line in lines if line]
    if not lines:
        return ""
    spans = "".join(f'<tspan x="{_n(x)}" dy="{0 if i == 0 else _n(LINE_HEIGHT)}">{_esc(line)}</tspan>' for i, line in enumerate(lines))
    return f'<text class="label" x="{_n(x)}" y="{_n(y)}" style="text-anchor: {anchor}">{spans}</text>'


def _route(edge: PictureEdge, boxes: Mapping[str, Box], own: bool) -> list[Point]:
    """The polyline of an edge: the source's waypoints, else a line between the two boxes."""
    if own and len(edge.points) >= 2:
        return [(float(px), float(py)) for px, py in edge.points]
    s, t = boxes[edge.source], boxes[edge.target]
    (scx, scy), (tcx, tcy) = _centre(s), _centre(t)
    if own or edge.kind == "attached":
        return [_border(s, (tcx, tcy)), _border(t, (scx, scy))]
    if edge.source == edge.target:
        x, y, w, h = s
        return [(x + w, scy), (x + w + 15, scy), (x + w + 15, y + h + 15), (scx, y + h + 15), (scx, y + h)]
    if t[0] > s[0] + s[2]:  # forward: leave on the right, enter on the left, with one bend
        mid = max(t[0] - H_GAP / 2, (s[0] + s[2] + t[0]) / 2)
        if abs(scy - tcy) < 0.5:
            return [(s[0] + s[2], scy), (t[0], tcy)]
        return [(s[0] + s[2], scy), (mid, scy), (mid, tcy), (t[0], tcy)]
    below = max(s[1] + s[3], t[1] + t[3]) + 20  # backward: go round underneath
    return [(scx, s[1] + s[3]), (scx, below), (tcx, below), (tcx, t[1] + t[3])]


def _length(segment: tuple[Point, Point]) -> float:
    (x1, y1), (x2, y2) = segment
    return abs(x2 - x1) + abs(y2 - y1)


def _centre(box: Box) -> Point:
    return box[0] + box[2] / 2, box[1] + box[3] / 2


def _border(box: Box, toward: Point) -> Point:
    """Where the line from the box's centre to ``toward`` leaves the box."""
    cx, cy = _centre(box)
    dx, dy = toward[0] - cx, toward[1] - cy
    if not dx and not dy:
        return cx, cy
    scale = min(box[2] / 2 / abs(dx) if dx else float("inf"), box[3] / 2 / abs(dy) if dy else float("inf"))
    return cx + dx * min(scale, 1.0), cy + dy * min(scale, 1.0)


def _n(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _points(points: Iterable[Point]) -> str:
    return " ".join(f"{_n(x)},{_n(y)}" for x, y in points)


def _esc(text: str) -> str:
    return html.escape(xml_safe(text), quote=True)
