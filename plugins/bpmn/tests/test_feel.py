"""The FEEL subset: every construct the module docstring lists, its null semantics, its limits and its errors."""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vrooli_bpmn import feel_compiler
from vrooli_bpmn.feel import MAX_NESTING, compile_feel
from vrooli_bpmn.feel_builtins import Range

from vrooli_core.errors import ExpressionError, RoutineError

VARS: dict[str, Any] = {
    "amount": 11,
    "price": 2.5,
    "status": "new",
    "flag": True,
    "nothing": None,
    "items": [1, 2, 3, 4],
    "orders": [{"id": "a", "amount": 5}, {"id": "b", "amount": 20}],
    "order": {"customer": {"name": "Ann"}, "lines": [{"qty": 2}, {"qty": 3}]},
    "name": "Hello World",
    "day": dt.date(2026, 3, 14),
}


def feel(text: str, variables: dict[str, Any] | None = None) -> Any:
    return compile_feel(text).evaluate(VARS if variables is None else variables)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("42", 42),
        ("2.5", 2.5),
        (".5", 0.5),
        ('"text"', "text"),
        (r'"a\"b\\c\nd\u0041"', 'a"b\\c\ndA'),
        ("true", True),
        ("false", False),
        ("null", None),
        ("[1, 2, 3]", [1, 2, 3]),
        ("[]", []),
        ('{a: 1, "b c": 2}', {"a": 1, "b c": 2}),
        ("{a: 1, b: a + 1}", {"a": 1, "b": 2}),
        ("{}", {}),
        ('@"2026-01-02"', dt.date(2026, 1, 2)),
        ('@"PT1H"', dt.timedelta(hours=1)),
    ],
)
def test_literals(text: str, expected: Any) -> None:
    assert feel(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("amount", 11),
        ("missing", None),
        ("order.customer.name", "Ann"),
        ("order.customer.missing", None),
        ("missing.deep.path", None),
        ("order.lines.qty", [2, 3]),  # a path over a list maps over its items
        ("orders.id", ["a", "b"]),
        ("items[1]", 1),
        ("items[4]", 4),
        ("items[-1]", 4),
        ("items[5]", None),
        ("items[0]", None),
        ("items[item > 2]", [3, 4]),
        ("orders[amount > 10].id", ["b"]),
        ("orders[amount > 10][1].id", "b"),
        ("order.lines[1].qty", 2),
        ("nothing[1]", None),
        ("5[1]", 5),
        ("day.year", 2026),
        ("day.month", 3),
        ("day.weekday", 6),
        ('duration("P1DT2H3M").hours', 2),
        ("{a: {b: 3}}.a.b", 3),
        ("[10, 20][2]", 20),
    ],
)
def test_names_paths_and_filters(text: str, expected: Any) -> None:
    assert feel(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("amount = 11", True),
        ("amount != 11", False),
        ("amount < 12", True),
        ("amount <= 11", True),
        ("amount > 11", False),
        ("amount >= 11", True),
        ('status = "new"', True),
        ('"abc" < "abd"', True),
        ("nothing = null", True),
        ("missing = null", True),
        ("amount = null", False),
        ("missing != null", False),
        ("null > 1", None),
        ("missing < 10", None),
        ('1 = "1"', None),
        ('1 < "2"', None),
        ("true < false", None),
        ("[1, 2] = [1, 2]", True),
        ('day > date("2026-01-01")', True),
        ('duration("PT1H") < duration("PT2H")', True),
        ('date("2026-01-01") = date and time("2026-01-01T00:00:00")', None),
    ],
)
def test_comparisons_with_null_propagation(text: str, expected: Any) -> None:
    assert feel(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true and true", True),
        ("true and false", False),
        ("true and null", None),
        ("false and null", False),
        ("null and false", False),
        ("true or null", True),
        ("false or null", None),
        ("false or false", False),
        ("1 and true", None),  # a non-boolean is null in logic
        ("not(true)", False),
        ("not(false)", True),
        ("not(null)", None),
        ("not(1)", None),
        ('amount > 10 and status = "new"', True),
        ('amount > 10 and status = "old"', False),
        ("amount > 20 or flag", True),
        ("true and true and true and false", False),
    ],
)
def test_three_valued_logic(text: str, expected: Any) -> None:
    assert feel(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 2 - 3", 5),
        ("2 ** 10", 1024),
        ("2 ** 3 ** 2", 64),  # FEEL's ** is left-associative
        ("7 / 2", 3.5),
        ("4 / 2", 2),
        ("5 / 0", None),
        ("-amount", -11),
        ("- -amount", 11),
        ("-(1 + 2)", -3),
        ("price * 2", 5.0),
        ('"ab" + "cd"', "abcd"),
        ('"a" + 1', None),
        ("1 + null", None),
        ("true + 1", None),
        ("[1] + [2]", None),
        ('-"x"', None),
        ('date("2026-01-31") + duration("P1D")', dt.date(2026, 2, 1)),
        ('date("2026-01-03") - date("2026-01-01")', dt.timedelta(days=2)),
        ('duration("PT1H") * 2', dt.timedelta(hours=2)),
        ("(-8) ** 0.5", None),  # complex results are null
        ("2 ** 100000 ** 100000", None),  # overflows to null instead of building a huge number
        ("10 ** 10 ** 10", 10**100),
    ],
)
def test_arithmetic(text: str, expected: Any) -> None:
    assert feel(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("amount between 10 and 12", True),
        ("amount between 12 and 20", False),
        ("missing between 1 and 2", None),
        ("amount in [1, 11]", True),
        ("amount in [1, 2]", False),
        ('status in ["new", "open"]', True),
        ("amount in (10..11]", True),
        ("amount in (10..11)", False),
        ("amount in [11..20]", True),
        ("amount in ]11..20]", False),
        ("amount in [1..11[", False),
        ("amount in (1, 2, > 10)", True),
        ("amount in (1, 2)", False),
        ("amount in > 10", True),
        ("amount in <= 10", False),
        ("amount in 11", True),
        ("amount in [1..5] or amount in [10..12]", True),
        ("amount in [1, 11] and flag", True),
        ("missing in [1..5]", None),
        ('"x" in [1..5]', None),
        ("[1..3]", Range(1, 3, True, True)),
        ("(1..3]", Range(1, 3, False, True)),
    ],
)
def test_between_in_and_ranges(text: str, expected: Any) -> None:
    assert feel(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('if amount > 10 then "big" else "small"', "big"),
        ('if amount > 20 then "big" else "small"', "small"),
        ('if missing > 1 then "yes" else "no"', "no"),  # a null condition takes else
        ("if flag then if amount > 1 then 1 else 2 else 3", 1),
        ("1 + (if flag then 1 else 2)", 2),
    ],
)
def test_if_then_else(text: str, expected: Any) -> None:
    assert feel(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("string length(name)", 11),
        ("string length(1)", None),
        ("upper case(name)", "HELLO WORLD"),
        ("lower case(name)", "hello world"),
        ('contains(name, "lo W")', True),
        ('contains(name, "xyz")', False),
        ('starts with(name, "Hell")', True),
        ('ends with(name, "World")', True),
        ("ends with(name, 1)", None),
        ("is defined(amount)", True),
        ("is defined(nothing)", True),  # defined, with the value null
        ("is defined(missing)", False),
        ("is defined(order.customer)", True),
        ("is defined(order.missing)", False),
        ("is defined(missing.deep)", False),
        ("count(items)", 4),
        ("count(5)", None),
        ("sum(items)", 10),
        ("sum(1, 2, 3)", 6),
        ("sum([1, null])", None),
        ("min(items)", 1),
        ("max(items)", 4),
        ("max(3, 9, 2)", 9),
        ("min([])", None),
        ('max(["a", "c", "b"])', "c"),
        ('max([1, "a"])', None),
        ("abs(-3)", 3),
        ('abs("x")', None),
        ("floor(1.7)", 1),
        ("floor(-1.2)", -2),
        ("ceiling(1.2)", 2),
        ("string(1)", "1"),
        ("string(1.0)", "1"),
        ("string(true)", "true"),
        ("string(null)", None),
        ("string(day)", "2026-03-14"),
        ('string(duration("PT90M"))', "PT1H30M"),
        ('number("12")', 12),
        ('number("1.5")', 1.5),
        ('number("x")', None),
        ('date("2026-01-02")', dt.date(2026, 1, 2)),
        ("date(2026, 1, 2)", dt.date(2026, 1, 2)),
        ("date(2026, 13, 2)", None),
        ('date("bogus")', None),
        ('date(date and time("2026-01-02T10:00:00"))', dt.date(2026, 1, 2)),
        ('date and time("2026-01-02T10:00:00")', dt.datetime(2026, 1, 2, 10)),
        ('date and time("2026-01-02T10:00:00Z").hour', 10),
        ('date and time("nope")', None),
        ('duration("P1DT2H")', dt.timedelta(days=1, hours=2)),
        ('duration("x")', None),
    ],
)
def test_builtins(text: str, expected: Any) -> None:
    assert feel(text) == expected


def test_zeebe_condition_forms() -> None:
    condition = compile_feel('amount > 10 and status = "new"')
    assert condition.evaluate({"amount": 11, "status": "new"}) is True
    assert condition.evaluate({"amount": 10, "status": "new"}) is False
    assert condition.evaluate({"status": "new"}) is None  # the navigator reads null as false
    assert compile_feel("approved").evaluate({"approved": True}) is True
    assert compile_feel("not(approved)").evaluate({"approved": False}) is True


def test_comments_and_whitespace() -> None:
    assert feel("// first\n1 /* inline */ +\n\t2") == 3


def test_contexts_see_the_variables_and_earlier_entries() -> None:
    assert feel("{total: amount * 2, more: total + 1}.more") == 23


def test_filter_on_contexts_sees_item_and_entries() -> None:
    assert feel("orders[item.amount = 5].id") == ["a"]
    assert feel('orders[id = "b"].amount') == [20]


def test_compiled_expression_is_reusable_with_other_variables() -> None:
    expression = compile_feel("x * 2")
    assert [expression.evaluate({"x": n}) for n in (1, 2, 3)] == [2, 4, 6]
    assert expression.text == "x * 2"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty expression"),
        ("1 +", "unexpected end of expression"),
        ("if x then 1", "expected 'else'"),
        ("foo(1)", "unknown function 'foo'"),
        ("some 1 in [1] satisfies true", "expected a variable name after 'some', found 1"),
        ("for x [1] return x", "expected 'in'"),
        ("some x in [1] x > 0", "expected 'satisfies'"),
        ("for x in [1] satisfies x", "expected 'return'"),
        ("every x in [1] satisfies", "unexpected end of expression"),
        ("1 + some x in [1] satisfies true", "a 'some' expression inside another one needs parentheses"),
        ('replace(name, "(a+)+", "")', "replace(): a repeated group may not itself contain"),
        ('"abc', "unterminated string"),
        ("a < b < c", "comparisons do not chain"),
        ("x == 1", "unexpected '='"),
        ("string length(1, 2)", "takes 1 argument"),
        ("not()", "takes 1 argument"),
        ("(1", "expected ')'"),
        ("[1, 2", "expected ']'"),
        ("{a 1}", "expected ':'"),
        ("{1: 2}", "expected a context key"),
        ("a.", "expected a name after '.'"),
        ("x # y", "unexpected character '#'"),
        ('@"not a date"', "after '@'"),
        ("]1..2", "to close the range"),
        ("1 2", "expected an operator or the end"),
        ("9" * 5000, "number too long"),
        ("x between 1 or 2", "expected 'and'"),
    ],
)
def test_syntax_errors_name_element_line_and_column(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_feel(text, element="Flow_7", line=12)
    message = str(info.value)
    assert fragment in message
    assert "Flow_7" in message
    assert info.value.element == "Flow_7"
    assert info.value.line == 12
    assert "FEEL syntax error" in message


def test_error_column_and_line_inside_a_multiline_expression() -> None:
    with pytest.raises(ExpressionError) as info:
        compile_feel("amount > 1\nand ?", element="G", line=40)
    assert info.value.line == 41
    assert "line 2, column 5" in str(info.value)


def test_nesting_is_bounded() -> None:
    ok = "(" * (MAX_NESTING - 1) + "1" + ")" * (MAX_NESTING - 1)
    assert feel(ok) == 1
    for deep in (
        "(" * MAX_NESTING + "1" + ")" * MAX_NESTING,
        "(" * 5000 + "1" + ")" * 5000,
        "[" * 5000,
        "not(" * 5000 + "true" + ")" * 5000,
        "{a: " * 5000,
        "x[" * 5000,
        "if true then " * 5000,
        "some x in y satisfies " * 4000,
        "for x in " * 5000,
    ):
        with pytest.raises(ExpressionError, match=f"nested deeper than {MAX_NESTING} levels"):
            compile_feel(deep)


def test_long_chains_stay_shallow() -> None:
    # Operator chains are single nodes evaluated in loops and unary minus is counted, so none of
    # these reaches Python's recursion limit.
    assert feel(" + ".join(["1"] * 20_000)) == 20_000
    assert feel(" and ".join(["true"] * 5_000)) is True
    assert feel("-" * 5001 + "1") == -1
    assert feel("x" + ".a" * 5000) is None
    # Iteration contexts are walked as an odometer in a loop: thousands of them need no recursion.
    contexts = ", ".join(f"x{i} in [{i}]" for i in range(3000))
    assert feel(f"for {contexts} return x0 + x2999") == [2999]
    assert feel(f"every {contexts} satisfies x1 = 1") is True


def test_evaluation_guard_reports_failures_of_user_data_as_expression_errors() -> None:
    class Hostile(dict[str, Any]):
        def get(self, key: str, default: Any = None) -> Any:
            raise ValueError("no reading")

    with pytest.raises(ExpressionError) as info:
        compile_feel("x.a", element="T", line=3).evaluate({"x": Hostile()})
    assert "element 'T'" in str(info.value) and "no reading" in str(info.value)
    assert info.value.line == 3


# --- iterations: some / every / for -----------------------------------------------------------

MIWG = Path(__file__).resolve().parents[4] / "shared" / "conformance" / "bpmn" / "miwg"


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        # The conditions of MIWG C.9.0's risk gateway.
        ('some risk in riskLevels satisfies risk = "red"', {"riskLevels": ["green", "red"]}, True),
        ('some risk in riskLevels satisfies risk = "red"', {"riskLevels": ["green", "yellow"]}, False),
        ('some risk in riskLevels satisfies risk = "red"', {"riskLevels": []}, False),
        ('some risk in riskLevels satisfies risk = "red"', {"riskLevels": None}, None),
        ('some risk in riskLevels satisfies risk = "red"', {}, None),
        ('some risk in riskLevels satisfies risk = "red"', {"riskLevels": "red"}, None),  # not a list
        ('every risk in riskLevels satisfies risk = "yellow"', {"riskLevels": ["yellow", "yellow"]}, True),
        ('every risk in riskLevels satisfies risk = "yellow"', {"riskLevels": ["yellow", "red"]}, False),
        ('every risk in riskLevels satisfies risk = "yellow"', {"riskLevels": []}, True),
        ('every risk in riskLevels satisfies risk = "yellow"', {"riskLevels": {"a": "yellow"}}, None),
        # A null condition is not true: some skips it, every fails on it.
        ("some x in [1, null] satisfies x > 0", {}, True),
        ("some x in [null, null] satisfies x > 0", {}, False),
        ("every x in [1, null] satisfies x > 0", {}, False),
        ("every x in [1, 2] satisfies x", {}, False),  # a non-boolean condition is not true
        ("some x in [null] satisfies x = null", {}, True),
        # Several contexts: every combination.
        ("some x in [1, 2], y in [2, 3] satisfies x + y = 5", {}, True),
        ("some x in [1, 2], y in [2, 3] satisfies x + y = 6", {}, False),
        ("every x in [1, 2], y in [3, 4] satisfies x < y", {}, True),
        ("every x in [1, 2], y in [2, 3] satisfies x < y", {}, False),
        ("some x in [1, 2], y in [x] satisfies y = 2", {}, True),  # a later context sees x
        ("every x in [1, 2], y in [] satisfies false", {}, True),
        ("some x in [1], y in null satisfies true", {}, None),
        # Nested quantifiers.
        ("some xs in [[1, 2], [3, 4]] satisfies every x in xs satisfies x > 2", {}, True),
        ("some xs in [[1, 2], [1, 4]] satisfies every x in xs satisfies x > 2", {}, False),
        ("every xs in [[1, 2], [3]] satisfies some x in xs satisfies x > 1", {}, True),
        ("every xs in [[1], [3]] satisfies some x in xs satisfies x > 1", {}, False),
        ("every xs in [[1, 2], [3]] satisfies some x in xs satisfies x > xs[1]", {}, False),
        # Scope: the bound name shadows a variable; other variables stay visible.
        ("some amount in [1, 2] satisfies amount = 2", {"amount": 11}, True),
        ("some x in items satisfies x * 10 > amount", {"items": [1, 2], "amount": 11}, True),
        ("some x in items satisfies x * 10 > amount", {"items": [1], "amount": 11}, False),
        ("some o in orders satisfies o.amount > 10", {"orders": [{"amount": 5}, {"amount": 20}]}, True),
        ("every o in orders satisfies o.amount > 10", {"orders": [{"amount": 5}, {"amount": 20}]}, False),
        ("some x in [null] satisfies is defined(x)", {}, True),
        ("some x in [1] satisfies is defined(y)", {}, False),
        # The condition extends as far right as it can.
        ("some x in [1, 2, 3, 4] satisfies x > 3 and x < 5", {}, True),
        ("some x in [1, 2, 3, 4] satisfies x > 4 or x = 1", {}, True),
        ("some x in [1, 2] satisfies x in [2, 3]", {}, True),
        # Inside other constructs.
        ("not(some x in [1, 2] satisfies x > 10)", {}, True),
        ('if some x in [1, 5] satisfies x > 3 then "big" else "small"', {}, "big"),
        ('if every x in [1, 5] satisfies x > 3 then "big" else "small"', {}, "small"),
        ("1 + (if (some x in [1] satisfies x = 1) then 1 else 0)", {}, 2),
        ("[1, 2, 3][some y in [2, 3] satisfies item = y]", {}, [2, 3]),
        ("(some x in [1] satisfies x = 1) and true", {}, True),
    ],
)
def test_quantified_expressions(text: str, variables: dict[str, Any], expected: Any) -> None:
    result = compile_feel(text).evaluate(variables)
    assert result == expected
    assert type(result) is type(expected)  # true/false/null exactly, never 1 or 0


@pytest.mark.parametrize(
    ("text", "variables", "expected"),
    [
        ("for x in items return x * 2", {"items": [1, 2, 3]}, [2, 4, 6]),
        ("for x in items return x * 2", {"items": []}, []),
        ("for x in items return x * 2", {}, None),
        ("for x in items return x", {"items": "abc"}, None),
        ("for x in 5 return x", {}, None),
        ("for x in [1, null] return x + 1", {}, [2, None]),
        ("for x in [1, 2] return x = 1", {}, [True, False]),
        ("for o in orders return o.id", {"orders": [{"id": "a"}, {"id": "b"}]}, ["a", "b"]),
        (
            "for o in orders return {id: o.id, big: o.n > 1}",
            {"orders": [{"id": "a", "n": 2}]},
            [{"id": "a", "big": True}],
        ),
        # Ranges: integer ends, both included, either direction.
        ("for i in 1..3 return i", {}, [1, 2, 3]),
        ("for i in 3..1 return i", {}, [3, 2, 1]),
        ("for i in 2..2 return i", {}, [2]),
        ("for i in -1..1 return i * 10", {}, [-10, 0, 10]),
        ("for i in 1.0..2 return i", {}, [1, 2]),
        ("for i in 1..n return i", {"n": 4}, [1, 2, 3, 4]),
        ("for i in 1..count(xs) return xs[i] * i", {"xs": [5, 6]}, [5, 12]),
        ("for i in 1..2.5 return i", {}, None),
        ("for i in 1..null return i", {}, None),
        ("for i in missing..3 return i", {}, None),
        ('for i in "a".."c" return i', {}, None),
        ("for i in true..3 return i", {}, None),
        # Several contexts, later ones seeing earlier ones.
        ("for x in [1, 2], y in [10, 20] return x + y", {}, [11, 21, 12, 22]),
        ("for x in [1, 2], y in x..2 return [x, y]", {}, [[1, 1], [1, 2], [2, 2]]),
        ("for i in 1..2, j in [i * 10] return j", {}, [10, 20]),
        ("for x in [1, 2], y in [] return x", {}, []),
        ("for x in [1, 2], y in (if x = 2 then null else [x]) return y", {}, None),
        ("for x in [1, 2], y in [y] return [x, y]", {"y": 5}, [[1, 5], [2, 5]]),  # y's source sees the outer y
        ("for x in [1, 2], x in [x * 10, x] return x", {}, [10, 1, 20, 2]),  # the later x shadows
        # Nested.
        ("for xs in [[1, 2], [3]] return for x in xs return x * 10", {}, [[10, 20], [30]]),
        ("for x in [1, 2] return for x in [x, 10] return x", {}, [[1, 10], [2, 10]]),
        ("for x in [1, 2] return some y in [2, 3] satisfies y = x", {}, [False, True]),
        # As a value elsewhere.
        ("sum(for i in 1..4 return i * i)", {}, 30),
        ("count(for x in [1, 2, 3] return x) > 2", {}, True),
        ("(for x in [1, 2] return x * 3)[2]", {}, 6),
        ('string join(for x in [1, 2] return string(x), "-")', {}, "1-2"),
    ],
)
def test_for_expressions(text: str, variables: dict[str, Any], expected: Any) -> None:
    assert compile_feel(text).evaluate(variables) == expected


def test_a_later_context_never_sees_a_stale_value_of_its_own_name() -> None:
    # When x moves on, y's source is evaluated again and must see no y yet (not the last one).
    text = "for x in [1, 2], y in (if y = null then [1] else [99]) return y"
    assert compile_feel(text).evaluate({}) == [1, 1]
    # After a context with a shadowing name is exhausted, the earlier binding is back.
    text = "for x in [1, 2], y in [x], x in [0] return [x, y]"
    assert compile_feel(text).evaluate({}) == [[0, 1], [0, 2]]
    # ... and a context evaluated again after that sees the earlier x, not nothing.
    text = "for x in [1, 2], y in [x, x * 10], x in [x + y] return x"
    assert compile_feel(text).evaluate({}) == [2, 11, 4, 22]


def test_iterations_do_not_disturb_the_callers_variables() -> None:
    variables = {"x": 7, "items": [1, 2]}
    assert compile_feel("for x in items return x").evaluate(variables) == [1, 2]
    assert variables == {"x": 7, "items": [1, 2]}
    assert compile_feel("(for x in items return x)[1] + x").evaluate(variables) == 8


def test_quantifiers_stop_at_the_first_decisive_item(monkeypatch: pytest.MonkeyPatch) -> None:
    # With a budget of 5 steps, a list of 1000 items is fine as long as the answer comes early.
    monkeypatch.setattr(feel_compiler, "MAX_ITERATIONS", 5)
    many = {"xs": list(range(1000))}
    assert compile_feel("some x in xs satisfies x = 1").evaluate(many) is True
    assert compile_feel("every x in xs satisfies x < 1").evaluate(many) is False
    with pytest.raises(ExpressionError, match="more than 5 iteration steps"):
        compile_feel("some x in xs satisfies x = 999").evaluate(many)


def test_iteration_budget_is_shared_by_one_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feel_compiler, "MAX_ITERATIONS", 2000)
    nested = compile_feel("count(for i in 1..40 return for j in 1..40 return 1)")  # 40 + 1600 steps
    assert nested.evaluate({}) == 40
    assert nested.evaluate({}) == 40  # each evaluation starts with a full budget
    with pytest.raises(ExpressionError, match="more than 2,000 iteration steps"):
        compile_feel("count(for i in 1..50 return for j in 1..40 return 1)").evaluate({})  # 50 + 2000
    siblings = "count(for i in 1..1200 return i) + count(for j in 1..{} return j)"
    assert compile_feel(siblings.format(800)).evaluate({}) == 2000
    with pytest.raises(ExpressionError, match="iteration steps"):
        compile_feel(siblings.format(801)).evaluate({})
    # Steps of a context whose inner context is empty count too: the body need not run.
    with pytest.raises(ExpressionError, match="iteration steps"):
        compile_feel("for x in 1..2001, y in [] return 1").evaluate({})


def test_huge_ranges_fail_fast_with_the_element_and_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feel_compiler, "MAX_ITERATIONS", 1000)
    start = time.perf_counter()
    with pytest.raises(ExpressionError) as info:
        compile_feel("for i in 1..1000000000000 return i", element="Task_1", line=4).evaluate({})
    assert time.perf_counter() - start < 1
    assert info.value.element == "Task_1" and info.value.line == 4
    assert "more than 1,000 iteration steps" in str(info.value)


def test_default_iteration_budget_is_a_million_steps() -> None:
    assert compile_feel("count(for i in 1..1000000 return i)").evaluate({}) == 1_000_000
    with pytest.raises(ExpressionError, match="more than 1,000,000 iteration steps"):
        compile_feel("for a in 1..1000, b in 1..1000, c in 1..1000 return 1").evaluate({})


@pytest.mark.parametrize(
    ("text", "message", "at"),
    [
        ("some 1 in [1] satisfies true", "expected a variable name after 'some', found 1", "1 in"),
        ("every in [1] satisfies true", "expected a variable name after 'every', found 'in'", "in"),
        ("for if in [1] return 1", "expected a variable name after 'for', found 'if'", "if"),
        ("for true in [1] return 1", "expected a variable name after 'for', found 'true'", "true"),
        ("some", "expected a variable name after 'some', found end of expression", None),
        ("for x in [1], return x", "expected a variable name after ',', found 'return'", "return"),
        ("for x [1] return x", "unexpected '[' (expected 'in')", "["),
        ("some x in [1] x > 0", "unexpected 'x' (expected 'satisfies')", "x >"),
        ("for x in [1] satisfies x", "unexpected 'satisfies' (expected 'return')", "satisfies"),
        ("every x in [1] satisfies", "unexpected end of expression", None),
        ("some x in 1..3 satisfies true", "unexpected '..' (expected 'satisfies')", ".."),
        ("1 + some x in [1] satisfies true", "a 'some' expression inside another one needs parentheses", "some"),
        ("[every x in [1] satisfies true, 1] and for", "a 'for' expression inside another one", "for"),
        ("for x in [1] return x return", "expected an operator or the end", "return"),
    ],
)
def test_iteration_syntax_errors_point_at_the_problem(text: str, message: str, at: str | None) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_feel(text, element="Gw", line=2)
    column = len(text) + 1 if at is None else text.rindex(at) + 1 if at == "return" else text.index(at) + 1
    assert f"FEEL syntax error at column {column} of" in str(info.value)
    assert message in str(info.value)
    assert info.value.element == "Gw" and info.value.line == 2


def test_iteration_errors_on_a_later_line_name_that_line() -> None:
    with pytest.raises(ExpressionError) as info:
        compile_feel("some x in xs\n  satisfies x >", line=10)
    assert info.value.line == 11
    assert "line 2, column 16" in str(info.value)


def test_iterations_count_towards_the_nesting_bound() -> None:
    # Each quantifier is one level, its source and condition one more.
    inside = "some x in xs satisfies " * (MAX_NESTING - 1) + "true"
    assert compile_feel(inside).evaluate({"xs": [1]}) is True
    with pytest.raises(ExpressionError, match="nested deeper"):
        compile_feel("some x in xs satisfies " * MAX_NESTING + "true")
    with pytest.raises(ExpressionError, match="nested deeper"):
        compile_feel("for x in " * MAX_NESTING + "[1]")


def test_miwg_c9_expressions_compile_and_decide_the_risk_gateway() -> None:
    from lxml import etree

    if not (MIWG / "C.9.0.bpmn").exists():
        pytest.skip("MIWG reference models not available")
    found: dict[str, str] = {}
    for name in ("C.9.0", "C.9.2"):
        tree = etree.parse(str(MIWG / f"{name}.bpmn"))
        for node in tree.iter("{*}conditionExpression"):
            found[node.getparent().get("id")] = (node.text or "").strip()
        for node in tree.iter("{*}input", "{*}output"):
            source = node.get("source") or ""
            if "string join" in source:
                found["join"] = source.strip()
    red = compile_feel(found["SequenceFlow_Red"].lstrip("= "))
    yellow = compile_feel(found["SequenceFlow_Yellow"].lstrip("= "))
    join = compile_feel(found["join"].lstrip("= "))
    assert red.text == 'some risk in riskLevels satisfies risk = "red"'
    assert yellow.text == 'every risk in riskLevels satisfies risk = "yellow"'
    assert join.text == 'string join(risks, ", ")'
    assert (red.evaluate({"riskLevels": ["yellow", "red"]}), yellow.evaluate({"riskLevels": ["yellow", "red"]})) == (
        True,
        False,
    )
    assert (red.evaluate({"riskLevels": ["yellow"]}), yellow.evaluate({"riskLevels": ["yellow"]})) == (False, True)
    assert join.evaluate({"risks": ["age", None, "fraud"]}) == "age, fraud"


# --- list and string built-ins ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # string join (FEEL 1.3: null items skipped, null delimiter is empty)
        ('string join(["a", "b", "c"])', "abc"),
        ('string join(["a", "b", "c"], " and ")', "a and b and c"),
        ('string join(["a", "b", "c"], "")', "abc"),
        ('string join(["a", "b", "c"], null)', "abc"),
        ('string join(["a"], "X")', "a"),
        ('string join(["a", null, "c"])', "ac"),
        ('string join(["a", null, "c"], "X")', "aXc"),
        ('string join([null, null], "X")', ""),
        ('string join([], "X")', ""),
        ("string join(null)", None),
        ('string join("abc", ",")', None),
        ('string join(["a", 1])', None),
        ('string join(["a", "b"], 1)', None),
        # append, concatenate
        ("append([1], 2, 3)", [1, 2, 3]),
        ("append([], null)", [None]),
        ("append([1])", [1]),
        ("append(null, 1)", None),
        ("append(1, 2)", None),
        ("concatenate([1], [], [2, 3])", [1, 2, 3]),
        ("concatenate([1])", [1]),
        ("concatenate([1], null)", None),
        ("concatenate([1], 2)", None),
        # distinct values: FEEL equality (1 = 1.0, but 1 is not true)
        ("distinct values([1, 2, 1, 3, 2])", [1, 2, 3]),
        ("distinct values([1, 1.0, true, true])", [1, True]),
        ('distinct values(["a", "a", null, null])', ["a", None]),
        ("distinct values([[1], [1], {a: 1}, {a: 1}, [2]])", [[1], {"a": 1}, [2]]),
        ("distinct values([])", []),
        ("distinct values(null)", None),
        # flatten
        ("flatten([1, [2, [3, [4]]], [], 5])", [1, 2, 3, 4, 5]),
        ("flatten([[null], null])", [None, None]),
        ("flatten([])", []),
        ('flatten("a")', None),
        # index of, list contains
        ("index of([1, 2, 3, 2], 2)", [2, 4]),
        ("index of([1, 2], 5)", []),
        ("index of([1, null], null)", [2]),
        ("index of(null, 1)", None),
        ("list contains([1, 2, 3], 2)", True),
        ("list contains([1, 2, 3], 2.0)", True),
        ("list contains([1, 2, 3], 5)", False),
        ('list contains([1, 2, 3], "2")', False),
        ("list contains([1, null], null)", True),
        ("list contains([1], null)", False),
        ("list contains(null, 1)", None),
        # sublist: 1-based, negative from the end, a long length is cut
        ("sublist([4, 5, 6], 1, 2)", [4, 5]),
        ("sublist([4, 5, 6], 2)", [5, 6]),
        ("sublist([4, 5, 6], -1)", [6]),
        ("sublist([4, 5, 6], -2, 1)", [5]),
        ("sublist([4, 5, 6], 2, 10)", [5, 6]),
        ("sublist([4, 5, 6], 2, 0)", []),
        ("sublist([4, 5, 6], 0)", None),
        ("sublist([4, 5, 6], 4)", None),
        ("sublist([4, 5, 6], -4)", None),
        ("sublist([4, 5, 6], 1, -1)", None),
        ("sublist([4, 5, 6], 1.5)", None),
        ("sublist([4, 5, 6], 2.0)", [5, 6]),
        ("sublist(null, 1)", None),
        # reverse
        ("reverse([1, 2, 3])", [3, 2, 1]),
        ("reverse([])", []),
        ('reverse("abc")', None),
        # mean, product
        ("mean([1, 2, 3])", 2),
        ("mean(1, 2)", 1.5),
        ("mean([2.5])", 2.5),
        ("mean([])", None),
        ("mean([1, null])", None),
        ('mean(["a"])', None),
        ("mean([true])", None),
        ("product([2, 3, 4])", 24),
        ("product(2, 0.5)", 1.0),
        ("product([])", None),
        ("product([2, null])", None),
        ('product(["a", "b"])', None),
        # substring: 1-based, negative from the end, code points
        ('substring("foobar", 3)', "obar"),
        ('substring("foobar", 3, 3)', "oba"),
        ('substring("foobar", -2, 1)', "a"),
        ('substring("foobar", -6)', "foobar"),
        ('substring("foobar", 4, 100)', "bar"),
        ('substring("\U0001f600ab", 2)', "ab"),  # one code point, not two UTF-16 units
        ('substring("foobar", 0)', None),
        ('substring("foobar", 7)', None),
        ('substring("foobar", -7)', None),
        ('substring("foobar", 1, -1)', None),
        ("substring(123, 1)", None),
        ('substring("foobar", null)', None),
        # substring before / after
        ('substring before("testing", "ing")', "test"),
        ('substring before("testing", "xyz")', ""),
        ('substring before("testing", "")', ""),
        ('substring after("testing", "test")', "ing"),
        ('substring after("testing", "xyz")', ""),
        ('substring after("testing", "")', "testing"),
        ('substring after("a.b.c", ".")', "b.c"),
        ('substring after(null, "a")', None),
        # trim
        ('trim("  a b \\t\\n")', "a b"),
        ('trim("")', ""),
        ("trim(1)", None),
    ],
)
def test_list_and_string_builtins(text: str, expected: Any) -> None:
    result = feel(text)
    assert result == expected
    if isinstance(expected, bool) or expected is None:
        assert result is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # replace: regular expressions, XPath replacement strings, flags
        ('replace("abcd", "(ab)|(a)", "[1=$1][2=$2]")', "[1=ab][2=]cd"),
        ('replace("banana", "a", "o")', "bonono"),
        ('replace("2026-01-02", "(\\d+)-(\\d+)-(\\d+)", "$3.$2.$1")', "02.01.2026"),
        ('replace("a1b22", "\\d+", "#")', "a#b#"),
        ('replace("abc", "b", "[$0]")', "a[b]c"),
        ('replace("abc", "b", "\\$1")', "a$1c"),
        (r'replace("abc", "b", "\\\\")', "a\\c"),  # FEEL's "\\\\" is \\, a replacement's escaped \
        (r'replace("a1b", "\d", "\\\\")', "a\\b"),  # the same through a regular expression
        ('replace("abc", "(b)", "$12")', "ab2c"),  # $12 with one group is $1 then "2"
        ('replace("abc", "B", "x", "i")', "axc"),
        ('replace("a.b.c", ".", "-", "q")', "a-b-c"),
        ('replace("a.b", ".", "$1", "q")', "a$1b"),  # q: the replacement is plain text too
        ('replace("A.b", "a.", "-", "qi")', "-b"),
        ('replace("a\nb", "a.b", "x")', "a\nb"),
        ('replace("a\nb", "a.b", "x", "s")', "x"),
        ('replace("ab\ncd", "^c", "x", "m")', "ab\nxd"),
        ('replace("abc", "b", "$")', None),  # a lone $ is an error
        ('replace("abc", "(b)", "$\u00b2")', None),  # so is $ before a digit that is not 0-9
        ('replace("abc", "b", "\\x")', None),  # so is a backslash before anything but $ or \
        ('replace("abc", "", "x")', None),  # a pattern matching "" is an error
        ('replace("abc", "x*", "y")', None),
        ('replace("abc", "b", "x", flags)', None),  # flags from a variable: "z" is no flag
        ('replace(null, "a", "b")', None),
        ('replace("a", null, "b")', None),
        ('replace("a", "a", 1)', None),
        # matches
        ('matches("foobar", "^fo*b")', True),
        ('matches("foobar", "^fo*x")', False),
        ('matches("FOO", "foo", "i")', True),
        ('matches("a.b", ".", "q")', True),
        ('matches("ab", ".", "q")', False),
        ('matches("abc", "b")', True),
        ('matches(1, "1")', None),
        # split: a regular-expression delimiter; groups never become parts
        ('split("John Doe", "\\s")', ["John", "Doe"]),
        ('split("a;b;c;;", ";")', ["a", "b", "c", "", ""]),
        ('split("a1b22c", "\\d+")', ["a", "b", "c"]),
        ('split("a-b_c", "(-)|(_)")', ["a", "b", "c"]),
        ('split("a.b", ".")', ["", "", "", ""]),  # "." is a pattern: every character delimits
        ('split("", ";")', []),
        ('split("abc", "")', None),
        ('split("abc", "x*")', None),
        ('split(null, ";")', None),
        ('split("a", null)', None),
    ],
)
def test_regular_expression_builtins(text: str, expected: Any) -> None:
    result = feel(text, {**VARS, "flags": "z"})
    assert result == expected
    if isinstance(expected, bool) or expected is None:
        assert result is expected


def test_list_functions_keep_number_and_boolean_types() -> None:
    assert [type(v) for v in feel("distinct values([1, 1.0, true, true, 1])")] == [int, bool]
    assert type(feel("mean([1, 2, 3])")) is int  # a whole mean is a whole number, as FEEL prints it
    assert type(feel("mean([1, 2])")) is float


def test_unknown_string_escapes_keep_their_backslash() -> None:
    assert feel(r'"\d+"') == "\\d+"
    assert feel(r'string length("\s")') == 2
    assert feel(r'"a\"b\\c"') == 'a"b\\c'  # the real escapes are unchanged


@pytest.mark.parametrize(
    ("text", "message", "at"),
    [
        ('replace(name, "(a+)+", "")', "replace(): a repeated group may not itself contain a repetition", '"(a+)+"'),
        ('matches(name, "(a|b)*c")', "matches(): a repeated group may not itself contain", '"(a|b)*c"'),
        ('split(name, "(x\\d?){2}")', "split(): a repeated group", '"(x'),
        ('matches(name, "(a)\\1")', "back-references are not supported", '"(a)'),
        ('matches(name, "(?i)a")', "unsupported regular-expression construct '(?i'", '"(?i)a"'),
        ('matches(name, "[a-")', "invalid regular expression", '"[a-"'),
        ('matches(name, "a", "x")', "unknown regular-expression flags 'x'", '"a", "x"'),
        ('matches(name, "' + "a?" * 60 + '")', "longer than 100 characters", '"a?'),
        ('matches(name, "' + "a?" * 25 + '")', "too many optional repetitions", '"a?'),
    ],
)
def test_literal_patterns_are_checked_at_load_time(text: str, message: str, at: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_feel(text, element="Task_9", line=5)
    assert message in str(info.value)
    assert f"column {text.index(at) + 1} of" in str(info.value)
    assert info.value.element == "Task_9"


def test_patterns_from_variables_are_checked_when_run() -> None:
    expression = compile_feel("matches(text, pattern)")
    assert expression.evaluate({"text": "aaa", "pattern": "^a+$"}) is True
    assert expression.evaluate({"text": "aaa", "pattern": "(a+)+$"}) is None  # refused: null
    assert expression.evaluate({"text": "aaa", "pattern": "[a-"}) is None  # invalid: null
    assert compile_feel('replace(text, pattern, "-")').evaluate({"text": "aaa", "pattern": "(a)\\1"}) is None


def test_regular_expressions_refuse_inputs_too_long_for_their_cost() -> None:
    limit = 6324  # one unbounded repetition: n ** 2 / 2 <= 20,000,000
    trailing = compile_feel('replace(text, "\\s+$", "")', element="T", line=1)
    assert trailing.evaluate({"text": "a" + " " * (limit - 1)}) == "a"
    with pytest.raises(ExpressionError) as info:
        trailing.evaluate({"text": "a" + " " * limit})
    assert "replace(): an input of 6,325 characters is longer than the 6,324" in str(info.value)
    two = compile_feel('matches(text, "a*a*b")')
    assert two.evaluate({"text": "a" * 493}) is False
    with pytest.raises(ExpressionError, match="matches\\(\\): an input of 494 characters"):
        two.evaluate({"text": "a" * 494})
    # Whatever the pattern, no input beyond a million characters.
    linear = compile_feel('matches(text, "a.")')
    assert linear.evaluate({"text": "b" * 1_000_000}) is False
    with pytest.raises(ExpressionError, match="longer than the 1,000,000"):
        linear.evaluate({"text": "b" * 1_000_001})
    # Plain text has no such bound.
    big = "x." * 200_000
    assert feel('replace(text, ".", "", "q")', {"text": big}) == "x" * 200_000
    assert len(feel('split(text, ";")', {"text": "a;" * 100_000})) == 100_001
    assert feel('matches(text, "X.", "qi")', {"text": big}) is True


def test_worst_case_patterns_stay_fast_within_their_input_limit() -> None:
    cases = {
        '"\\s+$"': " " * 6323 + "x",
        '"a*a*b"': "a" * 493,
        '".*.*.*x"': "y" * 148,
    }
    for pattern, text in cases.items():
        expression = compile_feel(f'replace(text, {pattern}, "")')
        start = time.perf_counter()
        expression.evaluate({"text": text})
        assert time.perf_counter() - start < 2, pattern


def test_flatten_is_iterative_and_refuses_cycles() -> None:
    deep: list[Any] = [1]
    for _ in range(50_000):
        deep = [deep]
    assert feel("flatten(xs)", {"xs": deep}) == [1]
    cyclic: list[Any] = [1]
    cyclic.append(cyclic)
    assert feel("flatten(xs)", {"xs": cyclic}) is None
    shared = [1]
    assert feel("flatten(xs)", {"xs": [shared, shared]}) == [1, 1]  # repeated, not cyclic


def test_distinct_values_is_not_quadratic_for_plain_values() -> None:
    values = list(range(100_000)) * 2
    start = time.perf_counter()
    assert feel("distinct values(xs)", {"xs": values}) == list(range(100_000))
    assert time.perf_counter() - start < 2


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("string join()", "string join() takes 1 to 2 argument(s)"),
        ('string join(["a"], ",", "x")', "string join() takes 1 to 2 argument(s)"),
        ("sublist([1])", "sublist() takes 2 to 3 argument(s)"),
        ('substring("a")', "substring() takes 2 to 3 argument(s)"),
        ('replace("a", "b")', "replace() takes 3 to 4 argument(s)"),
        ('split("a")', "split() takes 2 argument(s)"),
        ("append()", "append() takes 1+ argument(s)"),
        ("index of([1])", "index of() takes 2 argument(s)"),
        ("list contains([1])", "list contains() takes 2 argument(s)"),
        ("distinct values([1], [2])", "distinct values() takes 1 argument(s)"),
    ],
)
def test_builtin_arity_is_checked_at_load_time(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(fragment)):
        compile_feel(text)


def test_builtin_names_stay_usable_as_variables() -> None:
    variables = {"product": "policy", "reverse": True, "index": 3, "list": [1], "string": "s"}
    assert feel('product = "policy" and reverse', variables) is True
    assert feel("index + list[1]", variables) == 4
    assert feel("string", variables) == "s"


FEEL_ALPHABET = st.sampled_from(
    [
        *"()[]{}.,:=<>!+-*/@\"' \n0123456789",
        "..",
        "**",
        "and",
        "or",
        "not",
        "if",
        "then",
        "else",
        "in",
        "between",
        "x",
        "items",
        "null",
        "true",
        "date and time",
        "string length",
        "is defined",
        "some",
        "every",
        "for",
        "satisfies",
        "return",
        "string join",
        "replace",
        "split",
        "\\",
        "#",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=80), st.lists(FEEL_ALPHABET, max_size=60).map("".join)))
def test_random_text_raises_only_expression_errors(text: str) -> None:
    try:
        expression = compile_feel(text)
    except RoutineError:
        return
    try:
        expression.evaluate(VARS)
    except RoutineError:
        pass
