"""Loading teams from TOML, YAML and mappings, and the errors a bad definition gets."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from vrooli_core.coordination import Agent, Member, Team, TeamConfigError, load_team, team_from_mapping
from vrooli_core.errors import ConfigError

TOML = """\
id = "cs"
name = "Customer Success"
goals = ["keep churn under 2%"]
budget = 500

[knowledge]
product = "Vrooli"
tiers = ["free", "pro"]

[[agents]]
name = "analyst"
role = "Data analyst"
goal = "find churn signals"
model = "gpt-4o-mini"
routines = ["churn-report"]
tools = ["sql"]
capabilities = ["analysis", "sql"]
permissions = ["read:crm"]
budget = 50.5

[[agents]]
name = "writer"
role = "Writer"

[[people]]
id = "ana"
name = "Ana"
roles = ["lead"]
capabilities = ["approval"]
"""

YAML = """\
id: cs
name: Customer Success
goals: [keep churn under 2%]
budget: 500
knowledge:
  product: Vrooli
  tiers: [free, pro]
agents:
  - name: analyst
    role: Data analyst
    goal: find churn signals
    model: gpt-4o-mini
    routines: [churn-report]
    tools: [sql]
    capabilities: [analysis, sql]
    permissions: ["read:crm"]
    budget: 50.5
  - name: writer
    role: Writer
people:
  - id: ana
    name: Ana
    roles: [lead]
    capabilities: [approval]
"""

EXPECTED = Team(
    id="cs",
    name="Customer Success",
    goals=("keep churn under 2%",),
    budget=500.0,
    knowledge={"product": "Vrooli", "tiers": ["free", "pro"]},
    agents=(
        Agent(
            name="analyst",
            role="Data analyst",
            goal="find churn signals",
            model="gpt-4o-mini",
            routines=("churn-report",),
            tools=("sql",),
            capabilities=("analysis", "sql"),
            permissions=("read:crm",),
            budget=50.5,
        ),
        Agent(name="writer", role="Writer"),
    ),
    people=(Member(id="ana", name="Ana", roles=("lead",), capabilities=("approval",)),),
)

needs_yaml = pytest.mark.skipif(importlib.util.find_spec("yaml") is None, reason="PyYAML is not installed")


def test_toml(tmp_path: Path) -> None:
    path = tmp_path / "team.toml"
    path.write_text(TOML, encoding="utf-8")
    team = load_team(path)
    assert team == EXPECTED
    assert team.agent("writer").model is None
    assert isinstance(team.budget, float)


@needs_yaml
def test_yaml(tmp_path: Path) -> None:
    for suffix in (".yaml", ".yml"):
        path = tmp_path / f"team{suffix}"
        path.write_text(YAML, encoding="utf-8")
        assert load_team(path) == EXPECTED


def test_mapping() -> None:
    data: dict[str, Any] = {"id": "t", "name": "T", "agents": [{"name": "a", "role": "r"}]}
    assert team_from_mapping(data) == Team("t", "T", agents=(Agent("a", "r"),))


def test_unknown_agent_names_the_known_ones() -> None:
    with pytest.raises(LookupError, match="agents: analyst, writer"):
        EXPECTED.agent("nobody")


def bad(path: Path, text: str) -> TeamConfigError:
    path.write_text(text, encoding="utf-8")
    with pytest.raises(TeamConfigError) as info:
        load_team(path)
    assert str(path) in str(info.value)
    return info.value


@pytest.mark.parametrize(
    ("change", "item", "line", "words"),
    [
        (('role = "Writer"', 'role = "Writer"\nmood = "calm"'), "agents[1]", 24, "unknown key 'mood'"),
        (('model = "gpt-4o-mini"', "model = 4"), "agents[0].model", 14, "expected str, got int"),
        (('tools = ["sql"]', 'tools = "sql"'), "agents[0].tools", 16, "expected a list, got str"),
        (('name = "writer"', 'name = "analyst"'), "agents[1].name", 22, "duplicate name 'analyst'"),
        (('role = "Writer"\n', ""), "agents[1].role", 21, "required field missing"),
        (('name = "Customer Success"\n', ""), "name", None, "required field missing"),
        (("budget = 500", 'budget = "lots"'), "budget", 4, "expected float, got str"),
        (("budget = 50.5", "budget = -1"), "agents[0]", 10, "budget must not be negative"),
        (('name = "Ana"', "name = true"), "people[0].name", 27, "expected str, got bool"),
        (('product = "Vrooli"', "product = 2020-01-01"), "knowledge.product", 7, "not JSON-compatible: date"),
    ],
)
def test_toml_problems(tmp_path: Path, change: tuple[str, str], item: str, line: int | None, words: str) -> None:
    assert change[0] in TOML
    error = bad(tmp_path / "team.toml", TOML.replace(change[0], change[1], 1))
    assert (error.item, error.line) == (item, line), error
    assert words in str(error) and item in str(error)


@needs_yaml
@pytest.mark.parametrize(
    ("change", "item", "line", "words"),
    [
        (("    role: Writer", "    role: Writer\n    mood: calm"), "agents[1]", 20, "unknown key 'mood'"),
        (("model: gpt-4o-mini", "model: 4"), "agents[0].model", 12, "expected str, got int"),
        (("tools: [sql]", "tools: sql"), "agents[0].tools", 14, "expected a list, got str"),
        (("name: writer", "name: analyst"), "agents[1].name", 18, "duplicate name 'analyst'"),
        (("    role: Writer\n", ""), "agents[1].role", 18, "required field missing"),
    ],
)
def test_yaml_problems(tmp_path: Path, change: tuple[str, str], item: str, line: int | None, words: str) -> None:
    assert change[0] in YAML
    error = bad(tmp_path / "team.yaml", YAML.replace(change[0], change[1], 1))
    assert (error.item, error.line) == (item, line), error
    assert words in str(error) and f"line {line}: {item}" in str(error)


def test_every_problem_is_listed() -> None:
    with pytest.raises(TeamConfigError) as info:
        team_from_mapping({"name": 3, "agents": [{"name": "a", "role": "r", "x": 1}, "oops"], "knowledge": 3})
    assert [p.item for p in info.value.problems] == ["id", "name", "agents[0]", "agents[1]", "knowledge"]
    assert info.value.source is None


def test_not_a_mapping() -> None:
    with pytest.raises(TeamConfigError, match="a team is a mapping, got list"):
        team_from_mapping([1])


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_team(tmp_path / "missing.toml")
    (tmp_path / "team.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\.toml, \.yaml or \.yml"):
        load_team(tmp_path / "team.json")
    (tmp_path / "broken.toml").write_text("id = ", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_team(tmp_path / "broken.toml")


def test_yaml_without_pyyaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "yaml", None)  # import yaml now raises ImportError
    path = tmp_path / "team.yaml"
    path.write_text(YAML, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"needs PyYAML: pip install 'vrooli-core\[yaml\]' \(or pyyaml\)"):
        load_team(path)
