"""compile_expression: language choice, the JUEL subset, bpmn-elements forms, errors at load time."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from vrooli_bpmn.expressions import compile_expression

from vrooli_core.errors import ExpressionError, RoutineError

SERVICES = {"isAbove": lambda limit, value: value > limit, "log": lambda *args: None}
VARS: dict[str, Any] = {
    "amount": 11,
    "status": "new",
    "approved": False,
    "count": 0,
    "text": "10",
    "nothing": None,
    "items": [1, 2, 3],
    "order": {"customer": {"name": "Ann"}, "lines": [{"qty": 2}], "empty": []},
    "__services__": SERVICES,
}
SHARED = Path(__file__).resolve().parents[4] / "shared" / "conformance" / "bpmn" / "bpmn-elements"


def run(text: str, language: str | None = None, variables: dict[str, Any] | None = None) -> Any:
    return compile_expression(text, language, element="Flow_1", line=9).evaluate(
        VARS if variables is None else variables
    )


@pytest.mark.parametrize(
    ("text", "language", "normalised"),
    [
        ("=amount > 10", None, "feel"),
        ("  =amount > 10  ", None, "feel"),
        ("amount > 10", "http://www.omg.org/spec/FEEL/20140401", "feel"),
        ("amount > 10", "https://www.omg.org/spec/DMN/20191111/FEEL/", "feel"),
        ("=amount > 10", "FEEL", "feel"),
        ("${amount > 10}", None, "juel"),
        ("#{amount > 10}", None, "juel"),
        ("${amount > 10}", "juel", "juel"),
        ("${amount > 10}", "http://www.w3.org/1999/XPath", "juel"),
        ("next(null, amount > 10);", "javascript", "bpmn-elements-js"),
        ("next(null, amount > 10)", "JS", "bpmn-elements-js"),
        ("amount > 10", None, "sandbox"),
        ("amount > 10", "python", "sandbox"),
        ("amount > 10", "text/x-python", "sandbox"),
        ("true", "http://www.w3.org/1999/XPath", "xpath"),
    ],
)
def test_language_is_chosen_and_normalised(text: str, language: str | None, normalised: str) -> None:
    compiled = compile_expression(text, language)
    assert compiled.language == normalised
    assert compiled.text == text
    assert compiled.evaluate(VARS) is True


def test_bpmn_elements_forms() -> None:
    assert run("${environment.variables.take2}", variables={"take2": True}) is True
    assert run("${environment.variables.take2}", variables={"take2": False}) is False
    assert run("${environment.variables.take2}", variables={}) is None  # unset reads as null
    assert run("${true}") is True
    assert run("${environment.output.count}") == 0
    assert run("${variables.takeJoin2}", variables={}) is None
    assert run("next(null, environment.variables.take4);", "javascript", {"take4": True}) is True
    assert run("next(null, environment.variables.take4);", "javascript", {"take4": False}) is False
    assert run("${environment.services.isAbove(10, amount)}") is True
    assert (
        run(
            "${environment.services.isAbove(10, environment.output.amount)}",
            variables={"amount": 5, "__services__": SERVICES},
        )
        is False
    )
    assert run("next(null, environment.services.isAbove(10, amount) === true)", "js") is True
    assert run("next(null, environment.variables.nope !== undefined)", "js", {}) is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${true && false}", False),
        ("${true || false}", True),
        ("${!approved}", True),
        ("${not approved}", True),
        ("${amount > 10 and status == 'new'}", True),
        ('${amount > 20 or status eq "new"}', True),
        ("${amount == 11}", True),
        ("${amount != 11}", False),
        ("${amount eq 11 && amount ne 12}", True),
        ("${amount lt 12 && amount gt 10 && amount le 11 && amount ge 11}", True),
        ("${amount < 12 && amount > 10 && amount <= 11 && amount >= 11}", True),
        ("${text == 10}", True),  # a numeric string compares as a number, as in EL
        ("${text < 9}", False),
        ("${'true' == true}", True),
        ("${nothing == null}", True),
        ("${nothing < 1}", False),  # null is never ordered
        ("${nothing > 1}", False),
        ("${null == 0}", False),
        ("${empty nothing}", True),
        ("${empty order.empty}", True),
        ("${empty ''}", True),
        ("${empty items}", False),
        ("${empty 0}", False),
        ("${order.customer.name}", "Ann"),
        ("${order['customer']['name']}", "Ann"),
        ("${order.missing}", None),
        ("${order.missing.deeper}", None),
        ("${items[0]}", 1),
        ("${items[5]}", None),
        ("${order.lines[0].qty}", 2),
        ("${amount + 1}", 12),
        ("${amount - 1}", 10),
        ("${amount * 2}", 22),
        ("${amount / 2}", 5.5),
        ("${amount div 2}", 5.5),
        ("${amount % 3}", 2),
        ("${amount mod 3}", 2),
        ("${-amount}", -11),
        ("${-(amount + 1)}", -12),
        ("${1.5e1}", 15.0),
        ("${'it\\'s'}", "it's"),
        ("${amount > 10 ? 'big' : 'small'}", "big"),
        ("${amount > 20 ? 'big' : amount > 5 ? 'mid' : 'small'}", "mid"),
        ("${(amount + 1) * 2}", 24),
        ("${execution.getVariable('amount')}", 11),
        ("${execution.getVariable('missing')}", None),
        ("Total: ${amount} for ${order.customer.name}", "Total: 11 for Ann"),
        ("${approved} and ${nothing}", "false and "),
        ("plain text", "plain text"),
        ("price \\${amount}", "price ${amount}"),
        ("${'}'}", "}"),
    ],
)
def test_juel_subset(text: str, expected: Any) -> None:
    language = "juel" if "${" not in text else None
    assert run(text, language) == expected


def test_juel_reserved_python_words_are_still_variables() -> None:
    assert run("${lambda}", variables={"lambda": 1}) == 1
    assert run("${None}", variables={"None": 2}) == 2


def test_sandbox_language_is_the_kernel_evaluator() -> None:
    assert run("amount > 10 and status == 'new'") is True
    assert run("len(items)") == 3
    with pytest.raises(ExpressionError) as info:
        run("().__class__")
    assert info.value.element == "Flow_1" and info.value.line == 9


def test_xpath_literals() -> None:
    assert run("true()", "http://www.w3.org/1999/XPath") is True
    assert run("false", "http://www.w3.org/1999/XPath") is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bpmn:getDataObject('approved')", False),
        ("not(bpmn:getDataObject('approved'))", True),
        ("bpmn:getDataObject('status') = 'new'", True),
        ('bpmn:getDataObject("status") != "new"', False),
        ("bpmn:getDataInput('amount') > 10 and true()", True),
        ("bpmn:getDataOutput('amount') <= 10 or false()", False),
        ("bpmn:getDataObject('missing') = 'x'", False),
        ("bpmn:getDataObject('status') = 'it''s'", None),  # 'it' and 's' are adjacent: refused below
    ],
)
def test_bpmn_xpath_data_functions(text: str, expected: Any) -> None:
    if expected is None:
        with pytest.raises(ExpressionError, match="unsupported XPath expression"):
            compile_expression(text)
        return
    compiled = compile_expression(text)  # no language attribute: the data functions make it XPath
    assert compiled.language == "xpath"
    assert compiled.evaluate(VARS) is expected
    assert compile_expression(text, "http://www.w3.org/1999/XPath").evaluate(VARS) is expected


@pytest.mark.parametrize(
    ("text", "language", "fragment"),
    [
        ("x", "groovy", "unsupported expression language 'groovy'"),
        ("x", "http://groovy.codehaus.org/", "unsupported expression language"),
        ("return x > 1;", "javascript", "only the bpmn-elements form 'next(null, EXPR);' is supported"),
        ("next();", "javascript", "only the bpmn-elements form"),
        ("count(//item)", "http://www.w3.org/1999/XPath", "unsupported XPath expression"),
        ("@id = 'x'", "http://www.w3.org/1999/XPath", "unsupported XPath expression"),
        ("bpmn:getDataObject('a b')", None, "unsupported XPath expression"),
        ("", None, "empty expression"),
        ("   ", "juel", "empty expression"),
        ("${}", None, "empty expression"),
        ("${a +}", None, "expected a value"),
        ("${a", None, "without a closing '}'"),
        ("${a.b(1)}", None, "method calls are not supported"),
        ("${fn:upper(a)}", None, "unexpected ':'"),
        ("${environment.settings.x}", None, "unsupported reference environment.settings"),
        ("${environment.variables}", None, "incomplete reference"),
        ("${environment.services.isAbove}", None, "incomplete reference"),
        ("${a === b}", None, "'===' and '!==' are JavaScript"),
        ("${a ? b}", None, "expected ':'"),
        ("${a # b}", None, "unexpected character '#'"),
        ("${" + "9" * 5000 + "}", None, "number too long"),
        ("${" + "(" * 40 + "1" + ")" * 40 + "}", None, "nested deeper than 24 levels"),
        ("${" + " && ".join(["a"] * 100) + "}", None, "too deeply nested"),
        ("${" + "!" * 100 + "a}", None, "nested deeper"),
        ("=1 +", None, "FEEL syntax error"),
        ("1 +", "python", "invalid expression"),
        ("x = 1", None, "invalid expression"),
        ("next(null, a.b(1))", "js", "method calls are not supported"),
    ],
)
def test_load_time_errors_name_element_and_line(text: str, language: str | None, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression(text, language, element="Flow_1", line=9)
    message = str(info.value)
    assert fragment in message
    assert "element 'Flow_1'" in message
    assert info.value.element == "Flow_1"
    assert info.value.line == 9


def test_multiline_syntax_error_reports_the_line_inside_the_expression() -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression("${a &&\n  }", element="F", line=20)
    assert info.value.line == 21


@pytest.mark.parametrize(
    ("text", "language", "fragment"),
    [
        ("${unknown > 1}", None, "unknown variable 'unknown'"),
        ("${environment.services.nope(1)}", None, "service 'nope' is not available"),
        ("${'x' < 1}", None, "cannot compare 'x' with 1"),
        ("${amount.x}", None, "cannot read property 'x' of a int"),
        ("${amount / 0}", None, "ZeroDivisionError"),
        ("unknown > 1", None, "unknown"),
        ("=string length(1, 2)", None, "takes 1 argument"),
    ],
)
def test_run_time_errors_name_element_and_line(text: str, language: str | None, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_expression(text, language, element="Gw_2", line=33).evaluate(VARS)
    assert fragment in str(info.value)
    assert info.value.element == "Gw_2"
    assert info.value.line == 33


def test_juel_run_time_error_quotes_the_model_text_not_the_translation() -> None:
    with pytest.raises(ExpressionError) as info:
        run("${unknown}")
    assert "${unknown}" in str(info.value)
    assert "__juel__" not in str(info.value)


def test_services_without_a_services_mapping() -> None:
    with pytest.raises(ExpressionError, match="service 'isAbove' is not available"):
        run("${environment.services.isAbove(1, 2)}", variables={})


def test_feel_condition_from_a_zeebe_model() -> None:
    condition = compile_expression('=amount > 10 and status = "new"', element="Flow_2", line=4)
    assert condition.evaluate({"amount": 11, "status": "new"}) is True
    assert condition.evaluate({"amount": 11, "status": "old"}) is False
    assert condition.evaluate({"status": "new"}) is None  # null > 10: unknown, read as false
    assert condition.evaluate({}) is False  # null = "new" is false, so the "and" is false


def test_compiled_expression_is_frozen() -> None:
    compiled = compile_expression("${a}")
    with pytest.raises(AttributeError):
        compiled.text = "other"  # type: ignore[misc]


def test_every_condition_in_the_bpmn_elements_fixtures_compiles() -> None:
    assert SHARED.is_dir(), f"conformance fixtures missing at {SHARED}"
    found = 0
    for path in sorted(SHARED.glob("*.bpmn")):
        tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))
        for node in tree.iter("{*}conditionExpression"):
            compiled = compile_expression(
                node.text or "", node.get("language"), element=node.getparent().get("id"), line=node.sourceline
            )
            assert compiled.language in ("juel", "bpmn-elements-js")
            found += 1
    assert found >= 6


def test_conditional_flows_fixture_outcomes() -> None:
    to_task2 = compile_expression("${environment.variables.take2}", None, element="cond-to-task2")
    to_task4 = compile_expression("next(null, environment.variables.take4);", "javascript", element="cond-to-task4")
    outcomes = []
    for take2, take4 in ((True, False), (False, True), (False, False)):
        variables = {"take2": take2, "take4": take4}
        outcomes.append((bool(to_task2.evaluate(variables)), bool(to_task4.evaluate(variables))))
    assert outcomes == [(True, False), (False, True), (False, False)]


LANGUAGES = st.sampled_from([None, "juel", "javascript", "feel", "python", "http://www.w3.org/1999/XPath"])
JUEL_ALPHABET = st.sampled_from(
    [
        *"${}#()[].,:?!<>=+-*/%&|'\" \n0123456789",
        "&&",
        "||",
        "==",
        "===",
        "and",
        "or",
        "not",
        "empty",
        "eq",
        "lt",
        "div",
        "mod",
        "true",
        "null",
        "a",
        "environment",
        "variables",
        "services",
        "execution",
        "getVariable",
        "next",
        "__juel__",
        "lambda",
        "\\",
    ]
)


@pytest.mark.filterwarnings("ignore::SyntaxWarning")  # Python's parser warns about some random text
@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=80), st.lists(JUEL_ALPHABET, max_size=60).map("".join)), LANGUAGES)
def test_random_text_raises_only_expression_errors(text: str, language: str | None) -> None:
    for candidate in (text, "${" + text + "}", "next(null, " + text + ");", "=" + text):
        try:
            compiled = compile_expression(candidate, language, element="E", line=1)
        except RoutineError:
            continue
        try:
            compiled.evaluate({"a": 1, "__services__": SERVICES})
        except RoutineError:
            pass


@pytest.mark.parametrize(
    "text", ['${amount > 10 && status == "new"}', 'amount > 10 and status == "new"', "=amount > 10"]
)
def test_cost_does_not_grow_with_the_number_of_variables(text: str) -> None:
    small = {"amount": 11, "status": "new"}
    large = {**{f"v{i}": i for i in range(100_000)}, **small}
    compiled = compile_expression(text)

    def timed(variables: dict[str, Any]) -> float:
        start = time.perf_counter()
        for _ in range(200):
            compiled.evaluate(variables)
        return time.perf_counter() - start

    timed(small)
    assert timed(large) < 5 * timed(small) + 0.01  # copying 100,000 variables per call would be ~100x
