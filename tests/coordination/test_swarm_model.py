"""Swarm status transitions, limits, and the blackboard's provenance and history."""

from __future__ import annotations

import pytest

from vrooli_core.coordination import (
    Agent,
    Blackboard,
    BlackboardValueError,
    CoordinationError,
    Swarm,
    SwarmLimits,
    SwarmStatus,
    SwarmStatusError,
    Team,
    WriterKind,
)

S = SwarmStatus


@pytest.mark.parametrize(
    "path",
    [
        [S.PLANNING, S.RUNNING, S.COMPLETED],
        [S.PLANNING, S.RUNNING, S.PLANNING, S.RUNNING, S.FAILED],
        [S.CANCELLED],
        [S.PLANNING, S.FAILED],
        [S.PLANNING, S.RUNNING, S.CANCELLED],
    ],
)
def test_legal_transitions(path: list[SwarmStatus]) -> None:
    swarm = Swarm("s1", "cs", "ship onboarding")
    assert swarm.status is S.FORMING
    for status in path:
        swarm = swarm.transition(status)
        assert swarm.status is status
    assert swarm.status.finished


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (S.FORMING, S.RUNNING),
        (S.FORMING, S.COMPLETED),
        (S.PLANNING, S.COMPLETED),
        (S.COMPLETED, S.RUNNING),
        (S.CANCELLED, S.PLANNING),
        (S.FAILED, S.FAILED),
        (S.RUNNING, S.FORMING),
    ],
)
def test_illegal_transitions(start: SwarmStatus, target: SwarmStatus) -> None:
    swarm = Swarm("s1", "cs", "x", status=start)
    with pytest.raises(SwarmStatusError) as info:
        swarm.transition(target)
    assert (info.value.swarm_id, info.value.current, info.value.target) == ("s1", start.value, target.value)
    assert f"cannot go from {start.value} to {target.value}" in str(info.value)


def test_transition_by_name_and_unknown_status() -> None:
    assert Swarm("s", "t", "x").transition("planning").status is S.PLANNING
    with pytest.raises(ValueError):
        Swarm("s", "t", "x").transition("dancing")


def test_limits_and_recruits_are_checked() -> None:
    with pytest.raises(ValueError, match="rounds"):
        SwarmLimits(rounds=-1)
    with pytest.raises(CoordinationError, match="recruited twice"):
        Swarm("s", "t", "x", agents=("a", "a"))
    with pytest.raises(CoordinationError, match="duplicate agent 'a'"):
        Team("t", "T", agents=(Agent("a", "r"), Agent("a", "r")))


def test_blackboard_keeps_provenance_and_history() -> None:
    board = Blackboard()
    board = board.write("summary", "draft", by="writer", at=10.0, run_id="run-1")
    board = board.write("numbers", [1, 2], by="analyst", at=11.0)
    board = board.write("summary", {"text": "final"}, by="ana", by_kind=WriterKind.PERSON, at=12.5)
    assert board.get("summary") == {"text": "final"}
    assert board.get("missing", 0) == 0 and "missing" not in board and "numbers" in board
    assert list(board) == ["summary", "numbers"]
    latest = board.entry("summary")
    assert (latest.by, latest.by_kind, latest.at, latest.run_id) == ("ana", WriterKind.PERSON, 12.5, None)
    assert [(e.value, e.by, e.run_id) for e in board.history("summary")] == [
        ("draft", "writer", "run-1"),
        ({"text": "final"}, "ana", None),
    ]
    assert {k: e.value for k, e in board.latest().items()} == {"summary": {"text": "final"}, "numbers": [1, 2]}
    with pytest.raises(KeyError):
        board.entry("missing")


def test_blackboard_history_cannot_be_rewritten() -> None:
    value = {"items": [1]}
    board = Blackboard().write("k", value, by="a", at=1.0)
    value["items"].append(2)
    board.get("k")["items"].append(3)
    assert board.get("k") == {"items": [1]}
    assert Blackboard().write("t", (1, (2,)), by="a", at=1.0).get("t") == [1, [2]], "tuples are kept as lists"


@pytest.mark.parametrize("value", [{1, 2}, {"when": object()}, {1: "x"}, [b"bytes"]])
def test_blackboard_refuses_non_json(value: object) -> None:
    with pytest.raises(BlackboardValueError, match="blackboard key 'result'") as info:
        Blackboard().write("result", value, by="a", at=1.0)
    assert info.value.key == "result"


def test_swarm_write() -> None:
    swarm = Swarm("s", "t", "x").write("k", 1, by="a", at=2.0, run_id="r")
    assert swarm.blackboard.entry("k").run_id == "r"
