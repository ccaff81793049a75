"""The FEEL compiler: turns the syntax tree of :mod:`vrooli_bpmn.feel` into Python closures.

Each node becomes a closure ``fn(variables) -> value`` built once at load time, so evaluating a
condition is a handful of Python calls. Left-associative chains (``a + b - c``, ``a and b and c``)
are single nodes evaluated in a loop, so the closures nest no deeper than the parser's nesting
bound. Value semantics (null propagation, comparisons, built-ins) live in
:mod:`vrooli_bpmn.feel_builtins`.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Mapping
from typing import Any

from vrooli_bpmn import feel_builtins as fb

__all__ = ["Fn", "Node", "compile_tree"]

Node = tuple[Any, ...]
Fn = Callable[[Mapping[str, Any]], Any]
_MISSING: Any = object()  # what ``is defined`` sees for an absent variable


def compile_tree(node: Node) -> Fn:
    """Compile a syntax tree made by :class:`vrooli_bpmn.feel._Parser`."""
    return _compile(node)


def _compile(node: Node, strict: bool = False) -> Fn:
    tag = node[0]
    if tag == "lit":
        value = node[1]
        return lambda env: value
    if tag == "name":
        name = node[1]
        if strict:
            return lambda env: env.get(name, _MISSING)
        return lambda env: env.get(name)
    if tag == "path":
        return _path(_compile(node[1], strict), node[2], strict)
    if tag in ("and", "or"):
        return _logic(tag, [_compile(item) for item in node[1]])
    if tag == "cmp":
        op, left, right = node[1], _compile(node[2]), _compile(node[3])
        return lambda env: fb.compare(op, left(env), right(env))
    if tag == "between":
        value, low, high = (_compile(n) for n in node[1:])

        def between(env: Mapping[str, Any]) -> Any:
            x = value(env)
            return fb.and3(fb.compare(">=", x, low(env)), fb.compare("<=", x, high(env)))

        return between
    if tag == "in":
        return _in(_compile(node[1]), node[2])
    if tag == "arith":
        return _arith(_compile(node[1]), [(op, _compile(n)) for op, n in node[2]])
    if tag == "neg":
        operand = _compile(node[1])
        return lambda env: fb.negate(operand(env))
    if tag == "if":
        cond, then, other = (_compile(n) for n in node[1:])
        return lambda env: then(env) if cond(env) is True else other(env)
    if tag == "list":
        items = [_compile(n) for n in node[1]]
        return lambda env: [item(env) for item in items]
    if tag == "context":
        return _context([(key, _compile(n)) for key, n in node[1]])
    if tag == "range":
        low, high = _compile(node[1]), _compile(node[2])
        low_closed, high_closed = node[3], node[4]
        return lambda env: fb.Range(low(env), high(env), low_closed, high_closed)
    return _call(node[1], node[2])


def _path(base: Fn, steps: list[tuple[str, Any]], strict: bool) -> Fn:
    compiled: list[tuple[str, Any]] = [(kind, arg if kind == "get" else _compile(arg)) for kind, arg in steps]

    def path(env: Mapping[str, Any]) -> Any:
        value = base(env)
        for kind, arg in compiled:
            if value is _MISSING:
                return value
            if kind == "get":
                if strict and isinstance(value, Mapping) and arg not in value:
                    return _MISSING
                value = fb.get_path(value, arg)
            else:
                value = _filter(value, arg, env)
        return value

    return path


def _filter(value: Any, test: Fn, env: Mapping[str, Any]) -> Any:
    if value is None:
        return None
    position = test(env)
    if fb.is_number(position):
        return fb.index(value, position)
    items = value if isinstance(value, list) else [value]
    kept = []
    for item in items:
        scope = {**item, "item": item} if isinstance(item, Mapping) else {"item": item}
        if test(ChainMap(scope, env)) is True:  # type: ignore[arg-type]
            kept.append(item)
    return kept


def _logic(op: str, items: list[Fn]) -> Fn:
    stop, combine = (False, fb.and3) if op == "and" else (True, fb.or3)

    def logic(env: Mapping[str, Any]) -> Any:
        result: Any = not stop
        for item in items:
            value = item(env)
            if value is stop:
                return stop
            result = combine(result, value)
        return result

    return logic


def _in(value: Fn, tests: list[Node]) -> Fn:
    compiled: list[tuple[str | None, Fn]] = [
        (t[1], _compile(t[2])) if t[0] == "test" else (None, _compile(t[1])) for t in tests
    ]

    def within(env: Mapping[str, Any]) -> Any:
        x = value(env)
        unknown = False
        for op, fn in compiled:
            hit = fb.in_test(x, fn(env)) if op is None else fb.compare(op, x, fn(env))
            if hit is True:
                return True
            unknown = unknown or hit is None
        return None if unknown else False

    return within


def _arith(first: Fn, rest: list[tuple[str, Fn]]) -> Fn:
    def arith(env: Mapping[str, Any]) -> Any:
        value = first(env)
        for op, fn in rest:
            value = fb.arithmetic(op, value, fn(env))
        return value

    return arith


def _context(entries: list[tuple[str, Fn]]) -> Fn:
    def context(env: Mapping[str, Any]) -> Any:
        result: dict[str, Any] = {}
        scope = ChainMap(result, env)  # type: ignore[arg-type]
        for key, fn in entries:
            result[key] = fn(scope)
        return result

    return context


def _call(name: str, args: list[Node]) -> Fn:
    if name == "is defined":
        arg = _compile(args[0], strict=True)
        return lambda env: arg(env) is not _MISSING
    fn = fb.BUILTINS[name][2]
    compiled = [_compile(a) for a in args]
    if len(compiled) == 1:
        only = compiled[0]
        return lambda env: fn(only(env))
    return lambda env: fn(*[a(env) for a in compiled])
