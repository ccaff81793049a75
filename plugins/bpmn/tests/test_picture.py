"""Pictures of BPMN models: diagram (DI) coordinates when the file has them, a layout otherwise, the
MIWG reference models, models that cannot run, and the CLI (``vrooli graph``, ``runs show --graph``)."""

from __future__ import annotations

import json
import os
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click.testing
import pytest
import vrooli_bpmn.plugin
from bpmn_builder import chain, flow, model, source
from vrooli_bpmn.navigator import BpmnNavigator
from vrooli_bpmn.picture import picture_of_source

from vrooli_core.cli import _common, main
from vrooli_core.errors import RoutineError
from vrooli_core.model import RoutineSource
from vrooli_core.picture import Picture, to_mermaid, to_svg
from vrooli_core.picture_layout import layout
from vrooli_core.plugins import PluginHost
from vrooli_core.storage.memory import MemoryStorage

ROOT = Path(os.environ.get("VROOLI_CONFORMANCE_DIR") or Path(__file__).resolve().parents[4] / "shared" / "conformance")
MIWG = ROOT / "bpmn" / "miwg"
MIWG_FILES = sorted(p.stem for p in MIWG.glob("*.bpmn")) if MIWG.is_dir() else []
needs_miwg = pytest.mark.skipif(
    not MIWG.is_dir(), reason=f"the shared MIWG reference models are not at {MIWG} (set VROOLI_CONFORMANCE_DIR)"
)

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
SVG = "{http://www.w3.org/2000/svg}"
#: Flow nodes as the BPMN 2.0 specification lists them (activities, events, gateways).
FLOW_NODES = {
    "task", "serviceTask", "sendTask", "receiveTask", "userTask", "manualTask", "scriptTask", "businessRuleTask",
    "callActivity", "subProcess", "transaction", "adHocSubProcess", "startEvent", "endEvent",
    "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent", "exclusiveGateway", "parallelGateway",
    "inclusiveGateway", "eventBasedGateway", "complexGateway",
}

BODY = "\n".join([
    '<startEvent id="s" name="Order in"/>',
    '<userTask id="approve" name="Approve"/>',
    '<boundaryEvent id="late" attachedToRef="approve"><timerEventDefinition>'
    "<timeDuration>PT1H</timeDuration></timerEventDefinition></boundaryEvent>",
    '<exclusiveGateway id="ok" name="Approved?" default="f_no"/>',
    '<task id="ship" name="Ship"/>',
    '<endEvent id="e" name="Done"/>',
    '<endEvent id="e2" name="Too late"/>',
    flow("f_s", "s", "approve"),
    flow("f_a", "approve", "ok"),
    flow("f_yes", "ok", "ship", "=approved"),
    flow("f_no", "ok", "e"),
    flow("f_ship", "ship", "e"),
    flow("f_late", "late", "e2"),
])

BOUNDS = {
    "s": (100, 100, 36, 36), "approve": (180, 78, 100, 80), "late": (230, 140, 36, 36), "ok": (330, 93, 50, 50),
    "ship": (430, 78, 100, 80), "e": (580, 100, 36, 36), "e2": (330, 220, 36, 36),
}
WAYPOINTS = {"f_s": [(136, 118), (180, 118)], "f_yes": [(380, 118), (430, 118)], "f_no": [(355, 93), (355, 40), (598, 40), (598, 100)]}


def with_di(body: str, bounds: dict[str, tuple[int, ...]], waypoints: dict[str, list[tuple[int, int]]]) -> str:
    shapes = "".join(
        f'<bpmndi:BPMNShape id="{nid}_di" bpmnElement="{nid}"><dc:Bounds x="{x}" y="{y}" width="{w}" height="{h}"/>'
        "</bpmndi:BPMNShape>"
        for nid, (x, y, w, h) in bounds.items()
    )
    edges = "".join(
        f'<bpmndi:BPMNEdge id="{fid}_di" bpmnElement="{fid}">' + "".join(f'<di:waypoint x="{x}" y="{y}"/>' for x, y in pts)
        + "</bpmndi:BPMNEdge>"
        for fid, pts in waypoints.items()
    )
    diagram = (
        f'<bpmndi:BPMNDiagram xmlns:bpmndi="{DI_NS}" xmlns:dc="{DC_NS}" xmlns:di="http://www.omg.org/spec/DD/20100524/DI">'
        f'<bpmndi:BPMNPlane bpmnElement="p">{shapes}{edges}</bpmndi:BPMNPlane></bpmndi:BPMNDiagram>'
    )
    return model(body).replace("</definitions>", diagram + "</definitions>")


def draw(text: str) -> Picture:
    navigator = BpmnNavigator()
    return navigator.picture(navigator.load(source(text)))


def test_a_model_with_a_diagram_is_drawn_at_its_coordinates() -> None:
    picture = draw(with_di(BODY, BOUNDS, WAYPOINTS))
    assert {n.id: (n.x, n.y, n.width, n.height) for n in picture.nodes} == BOUNDS
    edges = {e.id: e for e in picture.edges}
    assert edges["f_no"].points == ((355, 93), (355, 40), (598, 40), (598, 100))
    assert edges["f_a"].points == ()
    assert picture.warnings == ()
    root = ET.fromstring(to_svg(picture))
    rects = {g.get("data-id"): g.find(f"{SVG}rect") for g in root.iter(f"{SVG}g") if g.get("data-id")}
    ship = rects["ship"]
    assert ship is not None and (ship.get("x"), ship.get("y"), ship.get("width")) == ("430", "78", "100")
    points = {line.get("points") for line in root.iter(f"{SVG}polyline")}
    assert "355,93 355,40 598,40 598,100" in points
    # The boundary event sits on its activity's border in the diagram: no attachment line is drawn.
    assert len(points) == 6


def test_kinds_markers_labels_and_the_boundary_attachment() -> None:
    picture = draw(model(BODY))
    nodes = {n.id: n for n in picture.nodes}
    assert {nid: n.kind for nid, n in nodes.items()} == {
        "s": "start", "approve": "human", "late": "event", "ok": "gateway", "ship": "task", "e": "end", "e2": "end",
    }
    assert nodes["ok"].detail == "X" and nodes["late"].detail != ""
    assert nodes["ok"].label == "Approved?"
    labels = {e.id: e.label for e in picture.edges}
    assert labels["f_yes"] == "=approved"
    assert labels["f_no"] == "default"
    assert labels["f_s"] == ""
    attached = [e for e in picture.edges if e.kind == "attached"]
    assert [(e.source, e.target) for e in attached] == [("approve", "late")]
    assert picture.title == "p"
    lines = [line.strip() for line in to_mermaid(picture).splitlines()]
    assert 'ok -->|"=approved"| ship' in lines
    assert "approve -.- late" in lines


def test_a_model_without_a_diagram_gets_a_layout() -> None:
    picture = draw(model('<startEvent id="s"/><task id="a" name="A"/><task id="b" name="B"/><endEvent id="e"/>'
                         + chain("s", "a", "b", "e")))
    assert not any(n.has_bounds for n in picture.nodes)
    assert picture.warnings == ()
    boxes = layout(picture)
    assert boxes["s"][0] < boxes["a"][0] < boxes["b"][0] < boxes["e"][0]
    root = ET.fromstring(to_svg(picture))
    drawn = {g.get("data-id") for g in root.iter(f"{SVG}g") if g.get("data-id")}
    assert drawn == {"s", "a", "b", "e"}


def test_elements_missing_from_the_diagram_are_laid_out_below_it() -> None:
    partial = {k: v for k, v in BOUNDS.items() if k != "e2"}
    picture = draw(with_di(BODY, partial, WAYPOINTS))
    nodes = {n.id: n for n in picture.nodes}
    assert all(n.has_bounds for n in picture.nodes)
    assert {nid: (n.x, n.y, n.width, n.height) for nid, n in nodes.items() if nid != "e2"} == partial
    assert nodes["e2"].y > max(y + h for _, y, _, h in partial.values())  # type: ignore[operator]
    assert picture.warnings == (
        "1 of 7 elements have no diagram coordinates (e2); they are laid out below the diagram",
    )


def test_subprocess_content_names_its_container() -> None:
    body = (
        '<startEvent id="s"/><subProcess id="sub" name="Inner"><startEvent id="is"/><task id="it"/>'
        '<endEvent id="ie"/>' + chain("is", "it", "ie") + '</subProcess><endEvent id="e"/>' + chain("s", "sub", "e")
    )
    picture = draw(model(body))
    parents = {n.id: n.parent for n in picture.nodes}
    assert parents == {"s": None, "sub": None, "is": "sub", "it": "sub", "ie": "sub", "e": None}
    assert 'subgraph sub ["Inner"]' in to_mermaid(picture)


def test_a_model_that_cannot_run_still_draws_from_its_source() -> None:
    text = model('<startEvent id="s"/><task id="t" name="T"/><endEvent id="e"/>' + chain("s", "t", "e"), executable=False)
    with pytest.raises(RoutineError, match="isExecutable"):
        BpmnNavigator().load(source(text))
    picture = BpmnNavigator().picture_of_source(source(text))
    assert [n.id for n in picture.nodes] == ["s", "t", "e"]
    assert [(e.source, e.target) for e in picture.edges] == [("s", "t"), ("t", "e")]
    with pytest.raises(RoutineError):
        picture_of_source(RoutineSource("<definitions", "broken.bpmn"))


# -- MIWG reference models -------------------------------------------------------------------------


def _flow_node_shapes(path: Path) -> tuple[set[str], dict[str, tuple[float, ...]]]:
    """Ids of the file's flow nodes, and the DI bounds of those that have a shape (read here with the
    standard library, independently of the plugin's parser)."""
    root = ET.parse(path).getroot()
    ids = {
        el.get("id", "") for el in root.iter()
        if el.tag.startswith(f"{{{BPMN_NS}}}") and el.tag.split("}")[1] in FLOW_NODES
    }
    shapes: dict[str, tuple[float, ...]] = {}
    for shape in root.iter(f"{{{DI_NS}}}BPMNShape"):
        bounds = shape.find(f"{{{DC_NS}}}Bounds")
        if shape.get("bpmnElement") in ids and bounds is not None:
            shapes[shape.get("bpmnElement", "")] = tuple(float(bounds.get(k, "0")) for k in ("x", "y", "width", "height"))
    return ids, shapes


@needs_miwg
@pytest.mark.parametrize("name", MIWG_FILES)
def test_miwg_models_draw_every_flow_node_at_its_shape(name: str) -> None:
    path = MIWG / f"{name}.bpmn"
    ids, shapes = _flow_node_shapes(path)
    assert shapes, "every MIWG reference model has a diagram"
    picture = picture_of_source(RoutineSource(path.read_text(encoding="utf-8"), str(path)))
    nodes = {n.id: n for n in picture.nodes}
    assert set(nodes) == ids
    at_shape = [nid for nid, n in nodes.items() if nid in shapes and (n.x, n.y, n.width, n.height) == shapes[nid]]
    assert len(at_shape) == len(shapes)
    svg = ET.fromstring(to_svg(picture))
    assert len([g for g in svg.iter(f"{SVG}g") if g.get("data-id")]) == len(ids)


@needs_miwg
def test_a_miwg_model_the_navigator_refuses_still_draws() -> None:
    path = MIWG / "C.9.0.bpmn"
    ids, shapes = _flow_node_shapes(path)
    picture = picture_of_source(RoutineSource(path.read_text(encoding="utf-8"), str(path)))
    assert len(picture.nodes) == len(shapes) == len(ids) == 25
    assert picture.title == "Customer Onboarding"
    assert {e.label for e in picture.edges} >= {"Green (no risk)", "Yellow (moderate risk)"}


# -- the CLI ---------------------------------------------------------------------------------------


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Callable[..., click.testing.Result]]:
    """``vrooli --store <a shared memory store> ARGS`` with the BPMN plugin (and no other) installed."""
    for var in ("VROOLI_STORE", "VROOLI_CONFIG", "VROOLI_DISABLE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("VROOLI_LOAD_PLUGINS", "")
    monkeypatch.chdir(tmp_path)

    def make_host(strict: bool, config: Any = None) -> PluginHost:
        host = PluginHost.create(strict=strict, config=config, load_entrypoints=False)
        host.register(vrooli_bpmn.plugin, "bpmn")
        return host

    monkeypatch.setattr(_common, "make_host", make_host)
    name = f"cli-{uuid.uuid4().hex}"

    def run(*args: str) -> click.testing.Result:
        return click.testing.CliRunner().invoke(main, ["--store", f"memory://{name}", *args])

    yield run
    MemoryStorage.forget(name)


def test_cli_draws_a_model_that_cannot_run_with_a_warning(invoke: Any, tmp_path: Path) -> None:
    path = tmp_path / "draft.bpmn"
    path.write_text(model('<startEvent id="s"/><task id="t" name="T"/><endEvent id="e"/>' + chain("s", "t", "e"),
                          executable=False))
    result = invoke("graph", str(path))
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("warning: the routine cannot run, so it is drawn as read leniently: ")
    assert "isExecutable" in result.stderr
    assert 't("T")' in [line.strip() for line in result.stdout.splitlines()]
    svg = invoke("graph", str(path), "--svg", "-o", str(tmp_path / "draft.svg"))
    assert svg.exit_code == 0
    assert ET.parse(tmp_path / "draft.svg").getroot().tag == f"{SVG}svg"
    broken = tmp_path / "broken.bpmn"
    broken.write_text("<definitions")
    failed = invoke("graph", str(broken))
    assert failed.exit_code == 2 and failed.stderr.startswith("error: ")


def test_cli_runs_show_graph_colours_the_visited_elements(invoke: Any, tmp_path: Path) -> None:
    path = tmp_path / "approval.bpmn"
    body = (
        '<startEvent id="s"/><task id="prepare" name="Prepare"/><userTask id="approve" name="Approve"/>'
        '<task id="ship" name="Ship"/><endEvent id="e"/>' + chain("s", "prepare", "approve", "ship", "e")
    )
    path.write_text(with_di(body, {"s": (0, 0, 36, 36), "prepare": (80, 0, 100, 80), "approve": (220, 0, 100, 80),
                                   "ship": (360, 0, 100, 80), "e": (500, 0, 36, 36)}, {}))
    started = invoke("run", str(path), "--json")
    assert started.exit_code == 0, started.output
    run_id = json.loads(started.stdout)["run"]["id"]
    shown = invoke("runs", "show", run_id, "--graph", "--svg")
    assert shown.exit_code == 0, shown.output
    root = ET.fromstring(shown.stdout)
    visited = {g.get("data-id") for g in root.iter(f"{SVG}g") if "visited" in (g.get("class") or "").split()}
    assert visited == {"s", "prepare", "approve"}  # the start event passed, then the steps
    rect = next(g for g in root.iter(f"{SVG}g") if g.get("data-id") == "approve").find(f"{SVG}rect")
    assert rect is not None and rect.get("x") == "220"  # the run is drawn at the file's coordinates


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize(("x", "taken", "not_taken"), [(5, "big", "small"), (1, "small", "big")])
async def test_a_runs_visits_include_the_gateways_and_events_it_passed(anyio_backend, host, store, x, taken, not_taken):
    from vrooli_core import Engine

    text = model(
        '<startEvent id="s"/><exclusiveGateway id="g" default="f_small"/><task id="big"/><task id="small"/>'
        '<exclusiveGateway id="m"/><endEvent id="e"/><endEvent id="never"/>'
        + flow("f_s", "s", "g") + flow("f_big", "g", "big", "x &gt; 3") + flow("f_small", "g", "small")
        + flow("f1", "big", "m") + flow("f2", "small", "m") + flow("f3", "m", "e")
    )
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(source(text), {"x": x})
        graph = await engine.graph(run.routine.id, run.routine.version)
        visited = BpmnNavigator().visits(graph, await engine.history(run.id))
    assert visited == {"s": 1, "g": 1, taken: 1, "m": 1, "e": 1}
    assert not_taken not in visited and "never" not in visited


def test_diagram_coordinates_that_are_no_numbers_are_left_out_with_a_warning() -> None:
    text = with_di(BODY, {**BOUNDS, "ok": ("wide", 93, 50, 50)}, {**WAYPOINTS, "f_yes": [(">380.0", 118), (430, 118)]})  # type: ignore[dict-item]
    navigator = BpmnNavigator()
    graph = navigator.load(source(text))
    picture = navigator.picture(graph)
    edges = {e.id: e for e in picture.edges}
    assert edges["f_yes"].points == () and edges["f_no"].points == ((355, 93), (355, 40), (598, 40), (598, 100))
    found = {w.element: w.message for w in graph.warnings}
    assert "diagram coordinates of 'f_yes' are not numbers" in found.get("f_yes", ""), found
    assert "diagram coordinates of 'ok' are not numbers" in found.get("ok", ""), found
