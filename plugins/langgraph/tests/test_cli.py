"""``vrooli graph module:graph`` and ``vrooli run module:graph``: references as routines on the CLI."""

from __future__ import annotations

import json

import click.testing
import pytest

from vrooli_core.cli import _common, main


@pytest.fixture
def invoke(host, store, monkeypatch):
    monkeypatch.setattr(_common, "make_host", lambda strict, config=None: host)

    def run(*args: str) -> click.testing.Result:
        return click.testing.CliRunner().invoke(main, ["--store", store, *args])

    return run


def test_a_graph_is_drawn_from_its_declared_structure_with_a_warning_for_undeclared_routes(invoke):
    result = invoke("graph", "graphs:routed")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "pick" in text and "last" in text
    assert "warning: node 's1' routes with 'route_unknown', which has no path map nor Literal return annotation" in result.stderr
    assert text.count("-->") >= 6  # start→pick, pick→s1, pick→s2, s1→last, s2→last (join), last→end


def test_a_reference_runs_from_the_cli(invoke):
    result = invoke("run", "graphs:chain", "--inputs-json", json.dumps({"n": 1, "trail": []}), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["run"]["outputs"] == {"n": 4, "trail": ["s1", "s2", "s3"]}
    missing = invoke("run", "graphs:nope")
    assert missing.exit_code == 2 and "graphs has no attribute 'nope'" in missing.stderr
