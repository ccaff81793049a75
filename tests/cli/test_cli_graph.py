"""``vrooli graph FILE`` and ``vrooli runs show RUN --graph``, with the flow navigator."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, ClassVar

import pytest
from _clitypes import Invoke, OutJson, WriteFlow

from vrooli_core.cli.graph import draw
from vrooli_core.errors import RoutineError
from vrooli_core.model import Graph, RoutineSource
from vrooli_core.picture import Picture, PictureNode
from vrooli_core.testing.flow import FlowNavigator

SVG = "{http://www.w3.org/2000/svg}"

REVIEW = """
id = "review"
name = "Review"
start = "draft"

[steps.draft]
kind = "tool"
tool = "greet"
args = {name = "draft"}
out = {draft = ""}
next = "review"

[steps.review]
kind = "human"
title = "Review the draft"
next = "check"

[steps.check]
choose = [{if = "draft == 'x'", next = "draft"}, {else = "publish"}]

[steps.publish]
"""

TWICE = """
id = "twice"
start = "split"

[steps.split]
next = ["left", "right"]

[steps.left]
next = "note"

[steps.right]
next = "note"

[steps.note]
"""


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


def _svg_nodes(text: str) -> dict[str, str]:
    root = ET.fromstring(text)
    return {g.get("data-id", ""): g.get("class", "") for g in root.iter(f"{SVG}g") if "node" in g.get("class", "")}


def test_graph_prints_mermaid(invoke: Invoke, write_flow: WriteFlow) -> None:
    result = invoke("graph", str(write_flow("review.flow.toml", REVIEW)))
    assert result.exit_code == 0, result.output
    lines = _lines(result.stdout)
    assert lines[0] == "flowchart LR"
    assert 'draft("draft")' in lines
    assert 'review(["Review the draft"])' in lines
    assert 'check{"check"}' in lines
    assert 'check -->|"draft == \'x\'"| draft' in lines
    assert 'check -->|"else"| publish' in lines
    assert "review --> check" in lines
    assert result.stderr == ""


def test_graph_writes_svg(invoke: Invoke, write_flow: WriteFlow, tmp_path: Path) -> None:
    path = write_flow("review.flow.toml", REVIEW)
    out = tmp_path / "pic.svg"
    result = invoke("graph", str(path), "-o", str(out))  # the .svg name is enough
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert f"wrote {out}" in result.stderr
    assert set(_svg_nodes(out.read_text())) == {"draft", "review", "check", "publish"}
    printed = invoke("graph", str(path), "--svg")
    assert printed.exit_code == 0, printed.output
    assert set(_svg_nodes(printed.stdout)) == {"draft", "review", "check", "publish"}
    forced = invoke("graph", str(path), "--mermaid", "-o", str(tmp_path / "pic2.svg"))
    assert (tmp_path / "pic2.svg").read_text().startswith("flowchart LR")
    assert forced.exit_code == 0


def test_graph_of_an_unclaimed_file_is_a_clear_error(invoke: Invoke, tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello")
    result = invoke("graph", str(path))
    assert result.exit_code == 2
    assert "error: no installed navigator reads" in result.stderr
    assert "flow (.flow.toml, .flow.json)" in result.stderr
    assert "Traceback" not in result.output
    unknown = invoke("graph", str(path), "--format", "nope")
    assert unknown.exit_code == 2
    assert "error: unknown navigator 'nope' (available: flow, task)" in unknown.stderr


def test_graph_of_an_invalid_flow_is_its_load_error(invoke: Invoke, write_flow: WriteFlow) -> None:
    result = invoke("graph", str(write_flow("bad.flow.toml", '[steps.a]\nnext = "nowhere"\n')))
    assert result.exit_code == 2
    assert "refers to unknown step 'nowhere'" in result.stderr
    assert result.stdout == ""


class _Lenient(FlowNavigator):
    """A flow navigator that can also draw files it refuses to load."""

    name: ClassVar[str] = "lenient"

    def picture_of_source(self, source: RoutineSource) -> Picture:
        return Picture((PictureNode("raw", "drawn anyway", "task"),), (), warnings=("read leniently",))


def test_draw_falls_back_to_the_navigators_lenient_picture() -> None:
    source = RoutineSource('[steps.a]\nnext = "nowhere"\n', "bad.flow.toml")
    picture = draw(_Lenient(), source)
    assert [n.id for n in picture.nodes] == ["raw"]
    assert picture.warnings[0].startswith("the routine cannot run, so it is drawn as read leniently: ")
    assert "nowhere" in picture.warnings[0]
    assert picture.warnings[1:] == ("read leniently",)
    with pytest.raises(RoutineError, match="nowhere"):
        draw(FlowNavigator(), source)
    ok = draw(_Lenient(), RoutineSource(TWICE, "twice.flow.toml"))
    assert {n.id for n in ok.nodes} == {"split", "left", "right", "note"} and ok.warnings == ()


class _Edgeless(FlowNavigator):
    name: ClassVar[str] = "edgeless"

    def picture(self, graph: Graph) -> Picture:
        return super(FlowNavigator, self).picture(graph)  # the Navigator contract's default


def test_graph_prints_picture_warnings_on_stderr(
    invoke: Invoke, write_flow: WriteFlow, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vrooli_core.cli import _common
    from vrooli_core.plugins import hookimpl

    class Plugin:
        @hookimpl
        def vrooli_register_navigators(self) -> list[type]:
            return [_Edgeless]

    make = _common.make_host

    def make_host(strict: bool, config: Any = None) -> Any:
        host = make(strict, config)
        host.register(Plugin(), name="edgeless")
        return host

    monkeypatch.setattr(_common, "make_host", make_host)
    result = invoke("graph", str(write_flow("twice.flow.toml", TWICE)), "--format", "edgeless")
    assert result.exit_code == 0, result.output
    assert "warning: this navigator (edgeless) does not describe its edges" in result.stderr
    assert "-->" not in result.stdout and 'note("note")' in result.stdout


def test_runs_show_graph_colours_what_the_run_visited(
    invoke: Invoke, write_flow: WriteFlow, out_json: OutJson, tmp_path: Path
) -> None:
    started = invoke("run", str(write_flow("review.flow.toml", REVIEW)), "--json")
    run_id = out_json(started)["run"]["id"]
    [task] = out_json(started)["tasks"]
    waiting = invoke("runs", "show", run_id[:8], "--graph")
    assert waiting.exit_code == 0, waiting.output
    lines = _lines(waiting.stdout)
    assert lines[0] == "flowchart LR"
    assert f"%% Review v1: run {run_id} (waiting)" in lines
    assert 'draft("draft (1x)")' in lines
    assert 'review(["Review the draft (1x)"])' in lines  # suspended: it counts
    assert "class draft,review visited" in lines
    assert 'publish(("publish"))' in lines

    done = invoke("tasks", "complete", task["id"], "--output", "ok=true")
    assert done.exit_code == 0, done.output
    finished = invoke("runs", "show", run_id, "--graph", "--svg", "-o", str(tmp_path / "run.svg"))
    assert finished.exit_code == 0, finished.output
    classes = _svg_nodes((tmp_path / "run.svg").read_text())
    # The review task suspended, then finished: one visit, not two. Choices are no steps of their own.
    assert {k for k, v in classes.items() if "visited" in v.split()} == {"draft", "review", "publish"}
    assert "visited once" in (tmp_path / "run.svg").read_text()
    assert "visited 2 times" not in (tmp_path / "run.svg").read_text()


def test_runs_show_graph_counts_repeated_visits(invoke: Invoke, write_flow: WriteFlow, out_json: OutJson) -> None:
    run_id = out_json(invoke("run", str(write_flow("twice.flow.toml", TWICE)), "--json"))["run"]["id"]
    result = invoke("runs", "show", run_id, "--graph")
    assert result.exit_code == 0, result.output
    lines = _lines(result.stdout)
    assert 'note(("note (2x)"))' in lines
    assert 'left(("left (1x)"))' not in lines and 'left("left (1x)")' in lines
    assert "class split,left,right,note visited" in lines


def test_runs_show_graph_options_go_together(invoke: Invoke, write_flow: WriteFlow, out_json: OutJson) -> None:
    run_id = out_json(invoke("run", str(write_flow("twice.flow.toml", TWICE)), "--json"))["run"]["id"]
    for args in (["--svg"], ["-o", "x.svg"], ["--graph", "--json"], ["--graph", "--events"]):
        result = invoke("runs", "show", run_id, *args)
        assert result.exit_code == 2, (args, result.output)
        assert "go with --graph" in result.stderr
    assert invoke("runs", "show", "nope", "--graph").exit_code == 2
