"""Pictures: the Mermaid and SVG renderings, the automatic layout, visit counts, and the pictures the
Navigator contract and the flow navigator give."""

from __future__ import annotations

import inspect
import sys
import time
import xml.etree.ElementTree as ET
from types import SimpleNamespace
from typing import Any

import pytest

from vrooli_core.engine.navigator import Navigator
from vrooli_core.model import RoutineSource
from vrooli_core.picture import Picture, PictureEdge, PictureNode, to_mermaid, to_svg, visits
from vrooli_core.picture_layout import layout, place_missing
from vrooli_core.testing.flow import FlowNavigator

SVG = "{http://www.w3.org/2000/svg}"

DEMO = Picture(
    nodes=(
        PictureNode("start", "Begin", "start"),
        PictureNode("ask", "Ask", "human"),
        PictureNode("check", "Which?", "gateway", detail="X"),
        PictureNode("sub", "Inner work", "subprocess"),
        PictureNode("inner", "Inner task", "task", parent="sub"),
        PictureNode("end", "Done", "end"),
        PictureNode("partner", "Partner", "task"),
    ),
    edges=(
        PictureEdge("e1", "start", "ask"),
        PictureEdge("e2", "ask", "check"),
        PictureEdge("e3", "check", "sub", label="ok"),
        PictureEdge("e4", "check", "ask", label="retry"),
        PictureEdge("e5", "sub", "end"),
        PictureEdge("m1", "ask", "partner", label="mail", kind="message"),
    ),
    title="Demo",
)


def chain(n: int) -> Picture:
    nodes = tuple(PictureNode(f"n{i}", f"Step {i}", "task") for i in range(n))
    return Picture(nodes, tuple(PictureEdge(f"e{i}", f"n{i}", f"n{i + 1}") for i in range(n - 1)))


def svg_nodes(svg: str) -> dict[str, ET.Element]:
    root = ET.fromstring(svg)
    return {g.get("data-id"): g for g in root.iter(f"{SVG}g") if "node" in (g.get("class") or "").split()}  # type: ignore[misc]


# -- Mermaid ---------------------------------------------------------------------------------------


def test_mermaid_draws_shapes_by_kind_subgraphs_and_edges() -> None:
    text = to_mermaid(DEMO)
    lines = [line.strip() for line in text.splitlines()]
    assert lines[0] == "flowchart LR"
    assert '%% Demo' in lines
    assert 'start(("Begin"))' in lines
    assert 'ask(["Ask"])' in lines
    assert 'check{"Which?"}' in lines
    assert 'subgraph sub ["Inner work"]' in lines
    assert 'inner("Inner task")' in lines
    # "end" is a Mermaid keyword: the node gets another id, used by its edges too.
    assert 'n_end(("Done"))' in lines
    assert "sub --> n_end" in lines
    assert 'check -->|"ok"| sub' in lines
    assert 'ask -.->|"mail"| partner' in lines
    assert "class n_end endEvent" in lines
    # The subgraph holds its content and is closed before the edges.
    assert lines.index("inner(\"Inner task\")") > lines.index('subgraph sub ["Inner work"]')
    assert lines.index("end") < lines.index("start --> ask")
    assert "visited" not in text


def test_mermaid_escapes_labels_and_makes_ids_safe() -> None:
    picture = Picture(
        nodes=(
            PictureNode("a-b", 'Say "hi" <b>#1</b> | `x`\nnext line', "task"),
            PictureNode("a_b", "same id once sanitised", "task"),
            PictureNode("1st", "digit", "task"),
            PictureNode("graph", "", "gateway", detail="+"),
        ),
        edges=(PictureEdge("e", "a-b", "a_b", label="x > 1 | y"), PictureEdge("f", "a_b", "graph")),
    )
    lines = [line.strip() for line in to_mermaid(picture).splitlines()]
    assert 'a_b("Say #quot;hi#quot; #lt;b#gt;#35;1#lt;/b#gt; #124; #96;x#96;<br>next line")' in lines
    assert 'a_b_2("same id once sanitised")' in lines
    assert 'n_1st("digit")' in lines
    assert 'n_graph{"+"}' in lines  # a label-less gateway shows its marker
    assert 'a_b -->|"x #gt; 1 #124; y"| a_b_2' in lines
    assert "a_b_2 --> n_graph" in lines


def test_mermaid_marks_visited_nodes_with_their_counts() -> None:
    lines = [line.strip() for line in to_mermaid(DEMO, {"ask": 3, "check": 1, "unknown": 2, "end": 0}).splitlines()]
    assert 'ask(["Ask (3x)"])' in lines
    assert 'check{"Which? (1x)"}' in lines
    assert 'n_end(("Done"))' in lines
    assert any(line.startswith("classDef visited fill:") for line in lines)
    assert "class ask,check visited" in lines


def test_mermaid_survives_parent_cycles_and_unknown_parents() -> None:
    picture = Picture(
        (PictureNode("a", "A", "subprocess", parent="b"), PictureNode("b", "B", "subprocess", parent="a"),
         PictureNode("c", "C", "task", parent="nowhere")),
        (),
    )
    text = to_mermaid(picture)
    assert text.count('"A"') == 1 and text.count('"B"') == 1 and text.count('"C"') == 1
    assert text.count("subgraph") == text.count("\n  end") + text.count("\n    end")


# -- SVG -------------------------------------------------------------------------------------------


def test_svg_is_well_formed_and_escapes_every_text() -> None:
    hostile = 'A & B </text></svg><script>alert("x")</script> \x00\x07 end'
    picture = Picture(
        (PictureNode("x\"'<>", hostile, "task"), PictureNode("y", hostile, "event")),
        (PictureEdge("e", "x\"'<>", "y", label=hostile),),
        title=hostile,
    )
    svg = to_svg(picture)
    root = ET.fromstring(svg)  # raises on anything unescaped
    assert "<script" not in svg
    assert not list(root.iter(f"{SVG}script"))
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    assert any("</svg><script>alert(\"x\")</script>" in t for t in texts)
    assert "\ufffd\ufffd" in root.find(f"{SVG}title").text  # type: ignore[union-attr, operator]
    assert set(svg_nodes(svg)) == {"x\"'<>", "y"}


def test_svg_uses_the_pictures_coordinates_and_waypoints_when_every_node_has_them() -> None:
    picture = Picture(
        (PictureNode("a", "A", "task", 100, 50, 80, 40), PictureNode("b", "B", "end", 300, 52, 36, 36)),
        (PictureEdge("e", "a", "b", points=((180, 70), (240, 70), (240, 71), (300, 70))),),
    )
    svg = to_svg(picture)
    rect = svg_nodes(svg)["a"].find(f"{SVG}rect")
    assert rect is not None
    assert (rect.get("x"), rect.get("y"), rect.get("width"), rect.get("height")) == ("100", "50", "80", "40")
    circle = svg_nodes(svg)["b"].find(f"{SVG}circle")
    assert circle is not None and (circle.get("cx"), circle.get("cy"), circle.get("r")) == ("318", "70", "18")
    [line] = ET.fromstring(svg).iter(f"{SVG}polyline")
    assert line.get("points") == "180,70 240,70 240,71 300,70"


def test_svg_lays_out_a_picture_without_coordinates() -> None:
    partial = Picture((PictureNode("a", "A", "task", 1000, 1000, 80, 40), PictureNode("b", "B", "task")),
                      (PictureEdge("e", "a", "b", points=((5, 5), (6, 6))),))
    nodes = svg_nodes(to_svg(partial))
    xa, xb = (float(nodes[n].find(f"{SVG}rect").get("x")) for n in "ab")  # type: ignore[union-attr, arg-type]
    assert xa < xb < 1000  # laid out from scratch: the one node's coordinates are not used
    assert "5,5 6,6" not in to_svg(partial)


def test_svg_colours_visited_nodes_and_shows_their_count() -> None:
    svg = to_svg(DEMO, {"ask": 2, "sub": 1})
    nodes = svg_nodes(svg)
    assert "visited" in nodes["ask"].get("class", "").split()
    assert "visited" in nodes["sub"].get("class", "").split()
    assert "visited" not in nodes["check"].get("class", "").split()
    badges = ["".join(g.itertext()) for g in ET.fromstring(svg).iter(f"{SVG}g") if g.get("class") == "badge"]
    assert sorted(badges) == ["1", "2"]
    assert "visited 2 times" in "".join(nodes["ask"].itertext())
    assert 'class="badge"' not in to_svg(DEMO)


def test_svg_draws_message_flows_dashed_and_edge_labels() -> None:
    root = ET.fromstring(to_svg(DEMO))
    classes = [line.get("class") for line in root.iter(f"{SVG}polyline")]
    assert classes.count("edge message") == 1
    assert classes.count("edge sequence") == 5
    labels = {"".join(t.itertext()) for t in root.iter(f"{SVG}text") if t.get("class") == "edge-label"}
    assert labels == {"ok", "retry", "mail"}


# -- layout ----------------------------------------------------------------------------------------


def test_layout_of_a_10000_node_chain_is_fast_and_does_not_recurse() -> None:
    picture = chain(10_000)
    limit = sys.getrecursionlimit()
    # Only a little stack above the test itself: any recursion over the chain would overflow it.
    sys.setrecursionlimit(len(inspect.stack(0)) + 80)
    try:
        started = time.perf_counter()
        boxes = layout(picture)
        svg = to_svg(picture)
        text = to_mermaid(picture)
        elapsed = time.perf_counter() - started
    finally:
        sys.setrecursionlimit(limit)
    assert elapsed < 5.0
    xs = [boxes[f"n{i}"][0] for i in range(10_000)]
    assert xs == sorted(xs) and len(set(xs)) == 10_000
    assert len({boxes[f"n{i}"][1] for i in range(10_000)}) == 1  # a chain is one straight row
    assert len(svg_nodes(svg)) == 10_000
    assert text.count(" --> ") == 9_999


def test_layout_layers_branches_and_breaks_cycles() -> None:
    boxes = layout(DEMO)
    x = {nid: box[0] for nid, box in boxes.items()}
    assert x["start"] < x["ask"] < x["check"] < x["sub"] < x["end"]  # the back edge check -> ask is ignored
    assert len({(b[0], b[1]) for b in boxes.values()}) == len(boxes)  # no two nodes on top of each other
    loop = Picture((PictureNode("a", "A", "task"), PictureNode("b", "B", "task")),
                   (PictureEdge("1", "a", "b"), PictureEdge("2", "b", "a")))
    assert layout(loop)["a"][0] < layout(loop)["b"][0]


def test_layout_leaves_room_for_labels_under_events() -> None:
    long = "a label long enough to need three lines of text"
    picture = Picture(
        (PictureNode("g", "", "gateway"), PictureNode("a", long, "end"), PictureNode("b", long, "end")),
        (PictureEdge("1", "g", "a"), PictureEdge("2", "g", "b")),
    )
    boxes = layout(picture)
    (xa, ya, _, ha), (xb, yb, _, _) = sorted((boxes["a"], boxes["b"]), key=lambda b: b[1])
    assert xa == xb
    assert yb - (ya + ha) >= 3 * 14  # the upper one's three label lines fit between them
    # The text is wider than the circle: the next column starts after the text.
    follow = Picture((*picture.nodes, PictureNode("c", "C", "task")), (*picture.edges, PictureEdge("3", "a", "c")))
    boxes = layout(follow)
    assert boxes["c"][0] - (boxes["a"][0] + boxes["a"][2] / 2) > 7 * 22 / 2


def test_layout_puts_content_inside_its_container() -> None:
    boxes = layout(DEMO)
    sx, sy, sw, sh = boxes["sub"]
    ix, iy, iw, ih = boxes["inner"]
    assert sx < ix and sy < iy and ix + iw < sx + sw and iy + ih < sy + sh
    ex = boxes["end"][0]
    assert ex > sx + sw  # what follows the container is laid out after all of it


def test_place_missing_keeps_given_bounds_and_lays_out_the_rest_below() -> None:
    picture = Picture(
        (PictureNode("a", "A", "task", 10, 20, 100, 50), PictureNode("b", "B", "task"), PictureNode("c", "C", "end")),
        (PictureEdge("e", "b", "c"),),
    )
    done = place_missing(picture)
    a, b, c = done.nodes
    assert (a.x, a.y, a.width, a.height) == (10, 20, 100, 50)
    assert b.has_bounds and c.has_bounds
    assert b.y >= 70 and c.y >= 70 and b.x < c.x  # type: ignore[operator]
    assert place_missing(chain(3)) == chain(3)


# -- visits and navigators -------------------------------------------------------------------------


def _event(kind: str, token: str, step: str) -> Any:
    return SimpleNamespace(type=kind, payload=SimpleNamespace(token=token, step=step))


def test_visits_count_each_token_once_per_step() -> None:
    history = [
        SimpleNamespace(type="run.created", payload=None),
        _event("step.started", "t1", "a"),
        _event("step.completed", "t1", "a"),
        _event("step.suspended", "t2", "review"),
        _event("step.completed", "t2", "review"),  # the same visit, finished later
        _event("step.completed", "t3", "a"),
        _event("step.completed", "t4", "a"),
    ]
    assert visits(history) == {"a": 3, "review": 1}


LOOPY = """
id = "loopy"
name = "Loopy"
start = "begin"

[steps.begin]
next = ["left", "right"]

[steps.left]
kind = "human"
title = "Look left"
boundary = {timer = 5, next = "late"}
next = "join"

[steps.right]
kind = "tool"
tool = "greet"
on_error = "late"
next = "join"

[steps.join]
join = 2
next = "decide"

[steps.decide]
choose = [{if = "x > 1", next = "begin"}, {else = "done"}]

[steps.late]
end = "terminate"

[steps.done]
"""


def test_flow_navigator_draws_kinds_and_every_way_out() -> None:
    navigator = FlowNavigator()
    picture = navigator.picture(navigator.load(RoutineSource(LOOPY, "loopy.flow.toml")))
    kinds = {n.id: (n.kind, n.detail) for n in picture.nodes}
    assert kinds == {
        "begin": ("gateway", "+"), "left": ("human", ""), "right": ("task", ""), "join": ("gateway", "+"),
        "decide": ("gateway", "X"), "late": ("end", ""), "done": ("end", ""),
    }
    assert {n.id: n.label for n in picture.nodes}["left"] == "Look left"
    edges = {(e.source, e.target, e.label) for e in picture.edges}
    assert edges == {
        ("begin", "left", ""), ("begin", "right", ""), ("left", "late", "timer 5"), ("left", "join", ""),
        ("right", "late", "on error"), ("right", "join", ""), ("join", "decide", ""),
        ("decide", "begin", "x > 1"), ("decide", "done", "else"),
    }
    assert len({e.id for e in picture.edges}) == len(picture.edges)
    assert picture.title == "Loopy" and picture.warnings == ()


def test_a_flow_start_step_without_incoming_edges_is_drawn_as_a_start() -> None:
    navigator = FlowNavigator()
    text = '[steps.a]\nnext = "b"\n[steps.b]\nkind = "tool"\ntool = "t"\nnext = "c"\n[steps.c]\n'
    picture = navigator.picture(navigator.load(RoutineSource(text, "abc.flow.toml")))
    assert [(n.id, n.kind) for n in picture.nodes] == [("a", "start"), ("b", "task"), ("c", "end")]


def test_the_navigator_default_picture_has_the_steps_and_says_it_lacks_edges() -> None:
    navigator = FlowNavigator()
    graph = navigator.load(RoutineSource(LOOPY, "loopy.flow.toml"))
    picture = Navigator.picture(navigator, graph)
    assert [n.id for n in picture.nodes] == list(graph.steps)
    assert {n.id: n.kind for n in picture.nodes}["left"] == "human"
    assert picture.edges == ()
    assert picture.warnings == ("this navigator (flow) does not describe its edges",)


@pytest.mark.parametrize("render", [to_mermaid, to_svg])
def test_edges_to_unknown_nodes_are_left_out(render: Any) -> None:
    picture = Picture((PictureNode("a", "A", "task"),), (PictureEdge("e", "a", "ghost", label="boo"),))
    assert "boo" not in render(picture)
    assert "ghost" not in render(picture)
