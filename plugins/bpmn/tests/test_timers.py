"""Timers on a fixed clock: dates, durations, repeating and cron cycles, expressions and errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from vrooli_bpmn.timers import compile_timer

from vrooli_core.errors import ExpressionError, RoutineError

UTC = dt.UTC
NOW = dt.datetime(1993, 6, 25, tzinfo=UTC).timestamp()  # the bpmn-elements timers test's clock
CONFORMANCE = Path(__file__).resolve().parents[4] / "shared" / "conformance" / "bpmn"


def at(*parts: int) -> float:
    return dt.datetime(*parts, tzinfo=UTC).timestamp()  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-01T09:00:00Z", at(2026, 1, 1, 9)),
        ("2026-01-01T09:00:00+02:00", at(2026, 1, 1, 7)),
        ("2026-01-01T09:00:00-05:30", at(2026, 1, 1, 14, 30)),
        ("2026-01-01T09:00:00", at(2026, 1, 1, 9)),  # no zone: UTC
        ("2026-01-01T09:00", at(2026, 1, 1, 9)),
        ("2026-01-01T09:00:00.500Z", at(2026, 1, 1, 9) + 0.5),
        ("1993-06-26", at(1993, 6, 26)),
        ("2026-07-01T09:00:00[Europe/Berlin]", at(2026, 7, 1, 7)),  # summer time
        ("2026-01-01T09:00:00[America/New_York]", at(2026, 1, 1, 14)),
        ("1990-01-01T00:00:00Z", at(1990, 1, 1)),  # in the past: due at once
    ],
)
def test_date_timers(text: str, expected: float) -> None:
    timer = compile_timer("date", text, element="Catch", line=3)
    assert timer.kind == "date"
    assert timer.first_due(NOW, {}) == expected
    assert timer.first_due(NOW + 86_400, {}) == expected  # a date does not move with the clock
    assert timer.next_due(expected, 1, {}) is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT1M", 60),
        ("PT10H", 36_000),
        ("P1DT2H", 93_600),
        ("P7D", 7 * 86_400),
        ("PT1.5S", 1.5),
        ("PT0S", 0),
        ("P1W", 7 * 86_400),
    ],
)
def test_duration_timers(text: str, seconds: float) -> None:
    timer = compile_timer("duration", text)
    assert timer.first_due(NOW, {}) == NOW + seconds
    assert timer.first_due(NOW + 5, {}) == NOW + 5 + seconds
    assert timer.next_due(NOW + seconds, 1, {}) is None


def test_calendar_month_durations_follow_the_calendar() -> None:
    timer = compile_timer("duration", "P1M")
    assert timer.first_due(at(2026, 1, 31), {}) == at(2026, 2, 28)
    assert compile_timer("duration", "P1Y").first_due(at(2024, 2, 29), {}) == at(2025, 2, 28)


def test_bounded_repeating_cycle() -> None:
    timer = compile_timer("cycle", "R3/PT10H", element="start-cycle")
    first = timer.first_due(NOW, {})
    assert first == NOW + 36_000
    second = timer.next_due(first, 1, {})
    third = timer.next_due(second, 2, {})  # type: ignore[arg-type]
    assert (second, third) == (NOW + 72_000, NOW + 108_000)
    assert timer.next_due(third, 3, {}) is None  # type: ignore[arg-type]


def test_unbounded_repeating_cycle() -> None:
    timer = compile_timer("cycle", "R/PT1M")
    assert timer.first_due(NOW, {}) == NOW + 60
    assert timer.next_due(NOW + 60_000, 1000, {}) == NOW + 60_060


def test_cycle_with_a_start_ahead_fires_at_the_start() -> None:
    timer = compile_timer("cycle", "R2/2026-01-01T00:00:00Z/P1D")
    assert timer.first_due(at(2025, 12, 1), {}) == at(2026, 1, 1)
    assert timer.next_due(at(2026, 1, 1), 1, {}) == at(2026, 1, 2)
    assert timer.next_due(at(2026, 1, 2), 2, {}) is None


def test_cycle_with_a_past_start_skips_to_the_next_occurrence() -> None:
    timer = compile_timer("cycle", "R/2026-01-01T09:00:00Z/P1D")
    assert timer.first_due(at(2026, 1, 5, 10), {}) == at(2026, 1, 6, 9)
    assert timer.first_due(at(2026, 1, 5, 9), {}) == at(2026, 1, 5, 9)
    monthly = compile_timer("cycle", "R/2026-01-31T00:00:00Z/P1M")
    assert monthly.first_due(at(2026, 3, 1), {}) == at(2026, 3, 28)  # Jan 31, Feb 28, Mar 28


@pytest.mark.parametrize(
    ("text", "now", "first", "second"),
    [
        ("*/5 * * * *", at(2026, 1, 1, 0, 2), at(2026, 1, 1, 0, 5), at(2026, 1, 1, 0, 10)),
        ("0 0 9 * * MON-FRI", at(2026, 1, 2, 10), at(2026, 1, 5, 9), at(2026, 1, 6, 9)),  # Zeebe/Spring
        ("0 0 9 ? * MON-FRI", at(2026, 1, 2, 10), at(2026, 1, 5, 9), at(2026, 1, 6, 9)),  # Quartz
        ("30 * * * * *", at(2026, 1, 1), at(2026, 1, 1, 0, 0, 30), at(2026, 1, 1, 0, 1, 30)),
        ("0 0 12 L * ?", at(2026, 1, 1), at(2026, 1, 31, 12), at(2026, 2, 28, 12)),
        ("0 0 0 1 1 ? 2027", at(2026, 1, 1), at(2027, 1, 1), None),  # a year field: runs out
        ("@daily", at(2026, 1, 1, 5), at(2026, 1, 2), at(2026, 1, 3)),
    ],
)
def test_cron_cycles(text: str, now: float, first: float, second: float | None) -> None:
    timer = compile_timer("cycle", text)
    assert timer.first_due(now, {}) == first
    assert timer.next_due(first, 1, {}) == second


def test_cron_that_never_fires_is_an_error_when_armed() -> None:
    timer = compile_timer("cycle", "0 0 0 1 1 ? 2020", element="Tick", line=8)
    with pytest.raises(ExpressionError, match="never fires") as info:
        timer.first_due(at(2026, 1, 1), {})
    assert info.value.element == "Tick" and info.value.line == 8


def test_expression_timers_resolve_when_armed() -> None:
    catch = compile_timer("date", "${environment.variables.catchDate}", element="catch-date")
    assert catch.first_due(NOW, {"catchDate": "1993-06-26"}) == at(1993, 6, 26)
    assert catch.first_due(NOW, {"catchDate": "1993-06-27T12:00:00Z"}) == at(1993, 6, 27, 12)
    assert compile_timer("duration", "${wait}").first_due(NOW, {"wait": "PT5M"}) == NOW + 300
    assert compile_timer("duration", '=duration("PT2H")').first_due(NOW, {}) == NOW + 7200
    assert compile_timer("duration", "=wait").first_due(NOW, {"wait": dt.timedelta(seconds=9)}) == NOW + 9
    assert compile_timer("date", '=date and time("2026-01-01T00:00:00Z")').first_due(NOW, {}) == at(2026, 1, 1)
    assert compile_timer("date", "=day").first_due(NOW, {"day": dt.date(2026, 1, 2)}) == at(2026, 1, 2)
    assert compile_timer("date", "=moment").first_due(NOW, {"moment": dt.datetime(2026, 1, 2, 3)}) == at(2026, 1, 2, 3)
    cycle = compile_timer("cycle", "=schedule")
    assert cycle.first_due(NOW, {"schedule": "R2/PT1H"}) == NOW + 3600
    assert cycle.next_due(NOW + 3600, 1, {"schedule": "R2/PT1H"}) == NOW + 7200
    assert cycle.next_due(NOW + 7200, 2, {"schedule": "R2/PT1H"}) is None


@pytest.mark.parametrize(
    ("kind", "text", "variables", "fragment"),
    [
        ("date", "${environment.variables.catchDate}", {}, "gave None"),
        ("date", "${when}", {"when": "soon"}, "not an ISO 8601 date or date-time"),
        ("duration", "${wait}", {"wait": 5}, "not an ISO 8601 duration"),
        ("duration", "${wait}", {"wait": "-PT1M"}, "negative"),
        ("cycle", "${every}", {"every": "R/PT0S"}, "must be positive"),
        ("cycle", "=x", {"x": dt.timedelta(hours=1)}, "not an ISO 8601 cycle"),
        ("date", "${missing}", {}, "unknown variable 'missing'"),
        ("date", "=1 / 0 + x", {"x": "a"}, "gave None"),
    ],
)
def test_bad_expression_results_fail_when_armed_naming_the_element(
    kind: str, text: str, variables: dict[str, object], fragment: str
) -> None:
    timer = compile_timer(kind, text, element="Timer_1", line=17)  # type: ignore[arg-type]
    with pytest.raises(ExpressionError) as info:
        timer.first_due(NOW, variables)
    assert fragment in str(info.value)
    assert info.value.element == "Timer_1" and info.value.line == 17


@pytest.mark.parametrize(
    ("kind", "text", "fragment"),
    [
        ("date", "bogus", "not an ISO 8601 date or date-time"),
        ("date", "2026-13-01T00:00:00Z", "not an ISO 8601 date"),
        ("date", "2026-01-01T00:00:00[Mars/Base]", "unknown time zone 'Mars/Base'"),
        ("date", "", "timer date is empty"),
        ("duration", "10 minutes", "not an ISO 8601 duration"),
        ("duration", "-PT1M", "negative"),
        ("duration", "P0.5M", "fractional"),
        ("cycle", "R0/PT1M", "R0 never fires"),
        ("cycle", "Rx/PT1M", "not a number"),
        ("cycle", "R/PT0S", "must be positive"),
        ("cycle", "R/2026-01-01T00:00:00Z/2026-02-01T00:00:00Z", "intervals with an end are not supported"),
        ("cycle", "R/PT1H/2026-01-01T00:00:00Z", "expected R[n]/duration or R[n]/start/duration"),
        ("cycle", "R3/PT1H/x/y", "expected R[n]/duration"),
        ("cycle", "PT1M", "or a cron expression"),
        ("cycle", "61 * * * *", "or a cron expression"),
        ("cycle", "* * *", "or a cron expression"),
        ("cycle", "${a +}", "expression syntax error"),
        ("weekly", "PT1M", "unknown timer kind 'weekly'"),
    ],
)
def test_invalid_literals_fail_at_load_time_naming_element_and_line(kind: str, text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_timer(kind, text, element="Boundary_1", line=52)  # type: ignore[arg-type]
    assert fragment in str(info.value)
    assert info.value.element == "Boundary_1" and info.value.line == 52
    assert "element 'Boundary_1'" in str(info.value)


def test_every_timer_in_the_conformance_models_compiles() -> None:
    assert CONFORMANCE.is_dir(), f"conformance fixtures missing at {CONFORMANCE}"
    kinds = {"timeDate": "date", "timeDuration": "duration", "timeCycle": "cycle"}
    compiled = []
    for path in sorted(CONFORMANCE.glob("*/*.bpmn")):
        tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
        for local, kind in kinds.items():
            for node in tree.iter(f"{{*}}{local}"):
                if (node.text or "").strip():  # MIWG's empty <timeDate/> placeholders define no timer
                    compiled.append(compile_timer(kind, node.text or "", element=path.name, line=node.sourceline))  # type: ignore[arg-type]
    assert sorted(t.text.strip() for t in compiled) == sorted(
        ["R3/PT10H", "PT1M", "PT1M", "${environment.variables.catchDate}", "PT2H", "R6/P1D", "P7D", "P7D", "R1/P5D"]
    )


TIMER_ALPHABET = st.sampled_from(
    [*"RPTWYMDHS/-:+Z.,?*#L[] 0123456789", "R/", "PT", "2026-01-01", "T09:00:00", "${", "}", "=", "@daily", "MON"]
)


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(["date", "duration", "cycle"]),
    st.one_of(st.text(max_size=40), st.lists(TIMER_ALPHABET, max_size=12).map("".join)),
)
def test_random_timer_text_raises_only_expression_errors(kind: str, text: str) -> None:
    try:
        timer = compile_timer(kind, text)  # type: ignore[arg-type]
    except RoutineError:
        return
    try:
        due = timer.first_due(NOW, {})
        assert isinstance(due, float)
        timer.next_due(due, 1, {})
    except RoutineError:
        pass
