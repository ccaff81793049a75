"""The automatic layout of a :class:`~vrooli_core.picture.Picture` that has no coordinates.

It is layered: every container (an expanded subprocess) is laid out on its own, innermost first, and
then placed as one block in its parent. Within a container, nodes get the longest-path layer from
the sources (a worklist; cycles are broken where the worklist runs dry), one barycentre pass orders
each layer, and layers become columns read left to right. Nothing recurses: a 100,000-node chain
lays out in linear time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping

import attrs

from vrooli_core.picture import Picture, PictureNode, children_of

__all__ = ["Box", "layout", "place_missing", "top_down", "wrap"]

#: x, y, width, height
Box = tuple[float, float, float, float]
Point = tuple[float, float]

SIZES = {"start": (36.0, 36.0), "end": (36.0, 36.0), "event": (36.0, 36.0), "gateway": (50.0, 50.0)}
TASK = (120.0, 64.0)
#: Shapes whose label is written under them, and the text metrics assumed for 12px sans-serif.
LABEL_BELOW = frozenset({"start", "end", "event", "gateway"})
CHAR_WIDTH, LINE_HEIGHT = 7.2, 14.0
#: The gap between columns; edges bend halfway through it.
H_GAP = 50.0
_V_GAP, _PAD, _PAD_TOP = 30.0, 20.0, 30.0


def layout(picture: Picture) -> dict[str, Box]:
    """Boxes for every node of ``picture`` (its own coordinates ignored): containers are laid out
    innermost first and sized to fit; edges count in the innermost container holding both ends."""
    children = children_of(picture.nodes)
    parent_of = {n.id: scope for scope, members in children.items() for n in members}
    order = top_down(children)
    depth: dict[str | None, int] = {None: -1}
    for node in order:
        depth[node.id] = depth[parent_of[node.id]] + 1
    scope_edges: dict[str | None, list[tuple[str, str]]] = {}
    for edge in picture.edges:
        if edge.source not in parent_of or edge.target not in parent_of:
            continue
        a, b = edge.source, edge.target
        while depth[a] > depth[b]:
            a = parent_of[a]  # type: ignore[assignment]
        while depth[b] > depth[a]:
            b = parent_of[b]  # type: ignore[assignment]
        if a == b:
            continue  # a self-loop, or an edge between a container and its own content
        while parent_of[a] != parent_of[b]:
            a, b = parent_of[a], parent_of[b]  # type: ignore[assignment]
        scope_edges.setdefault(parent_of[a], []).append((a, b))
    sizes: dict[str, tuple[float, float]] = {}
    #: The room a node takes in its column (its shape and a label under it), and the shape's offset in it.
    room: dict[str, tuple[float, float]] = {}
    shift: dict[str, Point] = {}
    local: dict[str, Point] = {}
    scopes: list[str | None] = [n.id for n in reversed(order) if children.get(n.id)]
    for scope in [*scopes, None]:
        members = [n.id for n in children.get(scope, [])]
        for node in children.get(scope, []):
            if node.id not in sizes:
                sizes[node.id] = SIZES.get(node.kind, TASK)
            room[node.id], shift[node.id] = _room(node, sizes[node.id])
        placed, (w, h) = _layered(members, scope_edges.get(scope, []), room)
        dx, dy = (_PAD, _PAD_TOP) if scope is not None else (0.0, 0.0)
        local.update({nid: (px + dx + shift[nid][0], py + dy + shift[nid][1]) for nid, (px, py) in placed.items()})
        if scope is not None:
            sizes[scope] = (max(w + 2 * _PAD, TASK[0]), h + _PAD + _PAD_TOP)
    boxes: dict[str, Box] = {}
    for node in order:  # parents before children: offsets add up top-down
        px, py = local[node.id]
        parent = parent_of[node.id]
        if parent is not None:
            px, py = px + boxes[parent][0], py + boxes[parent][1]
        boxes[node.id] = (px, py, *sizes[node.id])
    return boxes


def _room(node: PictureNode, size: tuple[float, float]) -> tuple[tuple[float, float], Point]:
    """Events and gateways carry their label underneath: they take its width, and its height below
    and above them (so that the shape stays in the middle, level with its neighbours)."""
    w, h = size
    if node.kind not in LABEL_BELOW or not node.label:
        return size, (0.0, 0.0)
    lines = wrap(node.label, 22)
    width = max(w, CHAR_WIDTH * max(len(line) for line in lines))
    below = LINE_HEIGHT * len(lines) + 4
    return (width, h + 2 * below), ((width - w) / 2, below)


def wrap(text: str, width: int) -> list[str]:
    """Words into lines of at most ``width`` characters (a longer word gets a line of its own)."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return lines


def top_down(children: Mapping[str | None, list[PictureNode]]) -> list[PictureNode]:
    """Every node, containers before their content (breadth first)."""
    order: list[PictureNode] = []
    queue = deque(children.get(None, []))
    while queue:
        node = queue.popleft()
        order.append(node)
        queue.extend(children.get(node.id, []))
    return order


def _layered(
    ids: list[str], edges: Iterable[tuple[str, str]], sizes: Mapping[str, tuple[float, float]]
) -> tuple[dict[str, Point], tuple[float, float]]:
    """Positions (relative to the block's top left) and the block's size for one container."""
    index = {nid: i for i, nid in enumerate(ids)}
    n = len(ids)
    succ: list[list[int]] = [[] for _ in range(n)]
    pred: list[list[int]] = [[] for _ in range(n)]
    for a, b in dict.fromkeys(edges):
        succ[index[a]].append(index[b])
        pred[index[b]].append(index[a])
    waiting = [len(p) for p in pred]
    layer = [-1] * n
    ready = deque(i for i in range(n) if not waiting[i])
    touched: deque[int] = deque()
    cursor, done = 0, 0
    while done < n:
        if ready:
            i = ready.popleft()
        elif touched:  # a cycle: break it at a node some finished node leads to
            i = touched.popleft()
        else:
            while layer[cursor] >= 0:
                cursor += 1
            i = cursor
        if layer[i] >= 0:
            continue
        layer[i] = max((layer[p] + 1 for p in pred[i] if layer[p] >= 0), default=0)
        done += 1
        for j in succ[i]:
            waiting[j] -= 1
            (ready if waiting[j] == 0 else touched).append(j)
    columns: list[list[int]] = [[] for _ in range(max(layer, default=-1) + 1)]
    for i in sorted(range(n), key=lambda i: layer[i]):
        columns[layer[i]].append(i)
    rank = [0.0] * n
    for column in columns:  # one barycentre pass: a node sits near the nodes leading to it
        for pos, i in enumerate(column):
            before = [rank[p] for p in pred[i] if layer[p] < layer[i]]
            rank[i] = sum(before) / len(before) if before else float(pos)
        column.sort(key=lambda i: rank[i])
        for pos, i in enumerate(column):
            rank[i] = float(pos)
    widths = [max(sizes[ids[i]][0] for i in col) for col in columns]
    heights = [sum(sizes[ids[i]][1] for i in col) + _V_GAP * (len(col) - 1) for col in columns]
    total_h = max(heights, default=0.0)
    placed: dict[str, Point] = {}
    x = 0.0
    for column, col_w, col_h in zip(columns, widths, heights, strict=True):
        y = (total_h - col_h) / 2
        for i in column:
            placed[ids[i]] = (x, y)  # left-aligned: the gap before a column is free for bends
            y += sizes[ids[i]][1] + _V_GAP
        x += col_w + H_GAP
    return placed, (max(x - H_GAP, 0.0), total_h)


def place_missing(picture: Picture, *, gap: float = 60.0) -> Picture:
    """``picture`` with every node that lacks bounds laid out automatically, as one block below the
    nodes that have them (a process the source's diagram does not show, say). Unchanged when no
    node, or every node, has bounds."""
    given = [b for b in (n.bounds for n in picture.nodes) if b is not None]
    missing = [n for n in picture.nodes if not n.has_bounds]
    if not missing or not given:
        return picture
    ids = {n.id for n in missing}
    boxes = layout(Picture(tuple(missing), tuple(e for e in picture.edges if e.source in ids and e.target in ids)))
    left = min(x for x, _, _, _ in given)
    top = max(y + h for _, y, _, h in given) + gap
    nodes = tuple(
        attrs.evolve(n, x=left + boxes[n.id][0], y=top + boxes[n.id][1], width=boxes[n.id][2], height=boxes[n.id][3])
        if n.id in boxes else n
        for n in picture.nodes
    )
    return attrs.evolve(picture, nodes=nodes)
