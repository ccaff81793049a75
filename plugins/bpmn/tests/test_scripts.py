"""Python script tasks: what runs, what is reported back, what is refused, and what it costs."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from vrooli_bpmn.scripts import MAX_RANGE, compile_script

from vrooli_core.errors import ExpressionError


def run(text: str, variables: dict[str, Any] | None = None, functions: dict[str, Any] | None = None) -> Any:
    return compile_script(text, "python", element="Script_1", line=20).run(variables or {}, functions or {})


@pytest.mark.parametrize("fmt", [None, "", "python", "Python", "text/x-python", "py", " python3 "])
def test_python_formats_are_accepted(fmt: str | None) -> None:
    assert compile_script("x = x + 1", fmt).run({"x": 1}) == {"x": 2}


@pytest.mark.parametrize("fmt", ["javascript", "js", "JavaScript", "groovy", "juel", "text/javascript"])
def test_other_formats_are_refused_at_load_time(fmt: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_script("next();", fmt, element="Script_9", line=4)
    assert f"script format {fmt!r} is not supported" in str(info.value)
    assert info.value.element == "Script_9" and info.value.line == 4
    assert "element 'Script_9'" in str(info.value)


def test_only_created_or_changed_variables_are_returned() -> None:
    assert run("x = x + 1", {"x": 1, "other": 5}) == {"x": 2}
    assert run("y = x", {"x": 1}) == {"y": 1}
    assert run("x = x", {"x": 1}) == {}
    assert run("x = 1", {"x": 1}) == {}
    assert run("x = 1.0", {"x": 1}) == {"x": 1.0}  # the type changed
    assert run("a, b = b, a", {"a": 1, "b": 2}) == {"a": 2, "b": 1}
    assert run("total += 5", {"total": 1}) == {"total": 6}
    assert run("pass", {"x": 1}) == {}


def test_in_place_changes_are_reported_and_never_touch_the_callers_data() -> None:
    items = [1, 2, 3]
    order = {"lines": [{"qty": 1}]}
    result = run("items.append(4)\norder['lines'][0]['qty'] = 7\nn = len(items)", {"items": items, "order": order})
    assert result == {"items": [1, 2, 3, 4], "order": {"lines": [{"qty": 7}]}, "n": 4}
    assert items == [1, 2, 3]
    assert order == {"lines": [{"qty": 1}]}
    assert run("n = len(items)", {"items": items}) == {"n": 3}  # read, not changed: not returned


def test_control_flow_comprehensions_and_fstrings() -> None:
    script = """
        evens = [i for i in numbers if i % 2 == 0]
        squares = {i: i * i for i in numbers}
        unique = {i % 2 for i in numbers}
        total = 0
        for i in numbers:
            if i == 2:
                continue
            elif i > 3:
                break
            total += i
        else:
            total = -1
        label = "big" if total > 3 else "small"
        text = f"{label}:{total:03d}"
        first, *_ = [1]  if False else (1, 2)
    """
    with pytest.raises(ExpressionError, match="'Starred' is not supported"):
        run(script, {"numbers": [1, 2, 3, 4, 5]})
    result = run(script.replace("        first, *_ = [1]  if False else (1, 2)\n", ""), {"numbers": [1, 2, 3, 4, 5]})
    assert result == {
        "evens": [2, 4],
        "squares": {1: 1, 2: 4, 3: 9, 4: 16, 5: 25},
        "unique": {0, 1},
        "total": 4,
        "i": 4,  # a for loop's variable stays, as in Python
        "label": "big",
        "text": "big:004",
    }


def test_comprehension_variables_do_not_leak() -> None:
    assert run("ys = [v * 2 for v in xs]", {"xs": [1]}) == {"ys": [2]}
    assert run("ys = [v for v in xs]", {"xs": [1], "v": 9}) == {"ys": [1]}


def test_registered_functions_are_callable_and_not_reported() -> None:
    calls: list[Any] = []

    def notify(message: str) -> str:
        calls.append(message)
        return "sent"

    assert run("status = notify('hi ' + name)", {"name": "Ann"}, {"notify": notify}) == {"status": "sent"}
    assert calls == ["hi Ann"]


def test_builtins() -> None:
    script = "r = [len(xs), sum(xs), min(xs), max(xs), sorted(xs, reverse=True), abs(-2), round(2.5), list(range(3))]"
    assert run(script, {"xs": [3, 1, 2]}) == {"r": [3, 6, 1, 3, [3, 2, 1], 2, 2, [0, 1, 2]]}
    assert run("z = dict(zip(['a'], [1]))") == {"z": {"a": 1}}


def test_indented_script_text_from_xml_is_dedented() -> None:
    assert run("\n            a = 1\n            b = a + 1\n        ") == {"a": 1, "b": 2}


@pytest.mark.parametrize(
    ("text", "fragment", "script_line"),
    [
        ("import os", "imports are not allowed", 1),
        ("x = 1\nfrom os import path", "imports are not allowed", 2),
        ("while True:\n    pass", "'while' loops are not supported", 1),
        ("def f():\n    return 1", "function definitions are not supported", 1),
        ("f = lambda: 1", "lambda is not supported", 1),
        ("x = sum(i for i in y)", "generator expressions are not supported", 1),
        ("class A:\n    pass", "'ClassDef' is not supported", 1),
        ("try:\n    x = 1\nexcept Exception:\n    pass", "'Try' is not supported", 1),
        ("with a:\n    pass", "'With' is not supported", 1),
        ("raise ValueError()", "'Raise' is not supported", 1),
        ("del x", "'Delete' is not supported", 1),
        ("global x", "'Global' is not supported", 1),
        ("x = 1\n\ny = ().__class__", "attribute '__class__' is not accessible", 3),
        ("y = x._secret", "attribute '_secret' is not accessible", 1),
        ("if (n := 3):\n    pass", "'NamedExpr' is not supported", 1),
        ("f(*args)", "'Starred' is not supported", 1),
        ("x = 1\ny = = 2", "script syntax error at script line 2", 2),
        ("x = (", "script syntax error", 1),
    ],
)
def test_unsupported_code_and_syntax_errors_fail_at_load_time(text: str, fragment: str, script_line: int) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_script(text, None, element="Script_2", line=40)
    assert fragment in str(info.value)
    assert info.value.element == "Script_2"
    assert info.value.line == 40 + script_line - 1


def test_without_an_element_line_the_script_line_is_reported() -> None:
    with pytest.raises(ExpressionError) as info:
        compile_script("a = 1\nb = (", None)
    assert info.value.line == 2


@pytest.mark.parametrize(
    ("text", "fragment", "script_line"),
    [
        ("y = 1\nz = missing + 1", "NameError: name 'missing' is not defined", 2),
        ("x = 1 / 0", "ZeroDivisionError", 1),
        ("x = boom()", "boom failed", 1),
        ("for i in range(10 ** 12):\n    pass", f"exceeds the limit of {MAX_RANGE}", 1),
        ("s = 'a' * 10 ** 9", "String length exceeded", 1),
        ("x = 2 ** 10 ** 9", "exponent", 1),
        ("assert 1 > 2, 'not ordered'", "AssertionError: not ordered", 1),
        ("f = open('/etc/passwd')", "name 'open' is not defined", 1),
        ("print('x')", "name 'print' is not defined", 1),
        ("x = [1][5]", "IndexError", 1),
        ("if True:\n    a = 1\n    b = {}['k']", "KeyError", 3),
        ("eval = 1", "reserved word", 1),
    ],
)
def test_run_time_errors_name_element_and_line(text: str, fragment: str, script_line: int) -> None:
    def boom() -> None:
        raise RuntimeError("boom failed")

    with pytest.raises(ExpressionError) as info:
        compile_script(text, "python", element="Script_3", line=100).run({}, {"boom": boom})
    assert fragment in str(info.value)
    assert info.value.element == "Script_3"
    assert info.value.line == 100 + script_line - 1
    assert f"script line {script_line}" in str(info.value)


def test_a_failed_run_leaves_no_state_behind() -> None:
    with pytest.raises(ExpressionError):
        run("x = 1 / 0")
    assert run("x = x + 1", {"x": 1}) == {"x": 2}
    assert run("y = 2") == {"y": 2}
    with pytest.raises(ExpressionError, match="'y' is not defined"):
        run("z = y")  # nothing from the previous run's symbol table survives


def test_runs_are_independent_across_threads() -> None:
    script = compile_script("x = x + 1\ny = [x] * 2", None)

    def work(n: int) -> dict[str, Any]:
        return script.run({"x": n})

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(400)))
    assert results == [{"x": n + 1, "y": [n + 1, n + 1]} for n in range(400)]


def test_compiled_script_is_reusable_and_frozen() -> None:
    script = compile_script("x = x * 2", None, element="S", line=1)
    assert [script.run({"x": n}) for n in (1, 2)] == [{"x": 2}, {"x": 4}]
    with pytest.raises(AttributeError):
        script.text = "y = 1"  # type: ignore[misc]


def test_bpmn_elements_javascript_script_is_refused_with_the_element() -> None:
    with pytest.raises(ExpressionError, match="script format 'js' is not supported") as info:
        compile_script(
            "if ('count' in environment.output) environment.output.count++;\nnext();", "js", element="script", line=48
        )
    assert info.value.element == "script"


def test_x_plus_one_costs_microseconds() -> None:
    script = compile_script("x = x + 1", None)
    variables = {"x": 1}
    script.run(variables)
    runs = 5000
    start = time.perf_counter()
    for _ in range(runs):
        script.run(variables)
    per_call = (time.perf_counter() - start) / runs
    assert per_call < 100e-6, f"{per_call * 1e6:.1f} µs per run"


def test_cost_does_not_grow_with_the_number_of_variables() -> None:
    script = compile_script("x = x + 1", None)
    small = {"x": 1}
    large = {**{f"v{i}": [i] for i in range(100_000)}, "x": 1}

    def timed(variables: dict[str, Any]) -> float:
        start = time.perf_counter()
        for _ in range(200):
            script.run(variables)
        return time.perf_counter() - start

    timed(small)
    assert timed(large) < 5 * timed(small) + 0.01
