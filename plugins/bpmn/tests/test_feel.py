"""The FEEL subset: every construct the module docstring lists, its null semantics, and its errors."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
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
        ("for x in [1] return x", "'for' expressions are not supported"),
        ("some x in [1] satisfies x > 0", "'some' expressions are not supported"),
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


def test_evaluation_guard_reports_failures_of_user_data_as_expression_errors() -> None:
    class Hostile(dict[str, Any]):
        def get(self, key: str, default: Any = None) -> Any:
            raise ValueError("no reading")

    with pytest.raises(ExpressionError) as info:
        compile_feel("x.a", element="T", line=3).evaluate({"x": Hostile()})
    assert "element 'T'" in str(info.value) and "no reading" in str(info.value)
    assert info.value.line == 3


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
