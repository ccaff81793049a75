"""The FEEL compiler: turns the syntax tree of :mod:`vrooli_bpmn.feel` into Python closures.

Each node becomes a closure ``fn(variables) -> value`` built once at load time, so evaluating a
condition is a handful of Python calls. Left-associative chains (``a + b - c``, ``a and b and c``)
are single nodes evaluated in a loop, so the closures nest no deeper than the parser's nesting
bound. Value semantics (null propagation, comparisons, built-ins) live in
:mod:`vrooli_bpmn.feel_builtins`.

Iterations (``for``, ``some``, ``every``) bind their variables in one dict over the caller's
mapping and walk several iteration contexts as an odometer, in a loop rather than by recursion.
An expression that iterates at all gets, once per evaluation, an iteration budget of
:data:`MAX_ITERATIONS` bindings shared by every iteration in it, nested or not; running out is an
evaluation error (a ``ValueError`` that :class:`~vrooli_bpmn.feel.FeelExpression` reports as an
``ExpressionError``). Expressions without iterations are compiled exactly as before and pay
nothing for this.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from vrooli_bpmn import feel_builtins as fb

__all__ = ["MAX_ITERATIONS", "Fn", "Node", "compile_tree"]

Node = tuple[Any, ...]
Fn = Callable[[Mapping[str, Any]], Any]
_MISSING: Any = object()  # what ``is defined`` sees for an absent variable
_END: Any = object()

MAX_ITERATIONS = 1_000_000
# The key of the iteration budget in the evaluation scope; a space keeps it out of FEEL's names.
_BUDGET = " iteration budget"


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
    if tag in ("for", "some", "every"):
        contexts = [(name, _compile(low), None if high is None else _compile(high)) for name, low, high in node[1]]
        return _iteration(tag, contexts, _compile(node[2]))
    if tag == "budget":
        return _with_budget(_compile(node[1]))
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


class _Scope(Mapping[str, Any]):
    """``local`` over ``parent``: the variables an iteration binds, over the caller's mapping.

    A ChainMap would do, but its ``get`` costs two passes over its maps in Python code; this one
    is the lookup every name in an iteration's body makes, so it does one dict check."""

    __slots__ = ("local", "parent")

    def __init__(self, local: dict[str, Any], parent: Mapping[str, Any]) -> None:
        self.local, self.parent = local, parent

    def get(self, key: str, default: Any = None) -> Any:
        local = self.local
        if key in local:
            return local[key]
        return self.parent.get(key, default)

    def __getitem__(self, key: str) -> Any:
        local = self.local
        return local[key] if key in local else self.parent[key]

    def __contains__(self, key: object) -> bool:
        return key in self.local or key in self.parent

    def __iter__(self) -> Iterator[str]:
        yield from self.local
        yield from (key for key in self.parent if key not in self.local)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _with_budget(inner: Fn) -> Fn:
    def budgeted(env: Mapping[str, Any]) -> Any:
        return inner(_Scope({_BUDGET: [MAX_ITERATIONS]}, env))

    return budgeted


def _iteration(kind: str, contexts: list[tuple[str, Fn, Fn | None]], body: Fn) -> Fn:
    """``for``/``some``/``every`` over ``contexts`` (name, list or range start, range end).

    All the contexts bind into one dict over the caller's mapping, so a name costs one lookup
    however many contexts there are. A context's source is evaluated when the earlier contexts
    have their current values and the later ones none: when a context is exhausted its name gets
    back what it had before (an earlier context's value of the same name, or nothing). A context
    that is not a list (or a range whose ends are not integers) makes the whole result null."""
    names = [name for name, _, _ in contexts]
    last = len(contexts) - 1

    def iteration(env: Mapping[str, Any]) -> Any:
        budget: list[int] | None = env.get(_BUDGET)  # installed by _with_budget at the root
        if budget is None:  # a tree compiled without its root (not one the parser made)
            budget = [MAX_ITERATIONS]
        first = _sequence(contexts[0], env)
        if first is None:
            return None
        bound: dict[str, Any] = {}
        scope = _Scope(bound, env)
        results: list[Any] = []
        if not last:  # one context, the common case: a plain loop
            name = names[0]
            for value in first:
                budget[0] -= 1
                if budget[0] < 0:
                    raise _exhausted()
                bound[name] = value
                result = body(scope)
                if kind == "for":
                    results.append(result)
                elif kind == "some":
                    if result is True:
                        return True
                elif result is not True:
                    return False
            return results if kind == "for" else kind == "every"
        stack = [iter(first)]
        saved = [_END]  # per open context, what its name was bound to before it (_END: nothing)
        while stack:
            level = len(stack) - 1
            value = next(stack[level], _END)
            if value is _END:
                stack.pop()
                previous = saved.pop()
                if previous is _END:
                    bound.pop(names[level], None)
                else:
                    bound[names[level]] = previous
                continue
            budget[0] -= 1
            if budget[0] < 0:
                raise _exhausted()
            bound[names[level]] = value
            if level < last:
                following = _sequence(contexts[level + 1], scope)
                if following is None:
                    return None
                stack.append(iter(following))
                saved.append(bound.get(names[level + 1], _END))
                continue
            result = body(scope)
            if kind == "for":
                results.append(result)
            elif kind == "some":
                if result is True:
                    return True
            elif result is not True:
                return False
        return results if kind == "for" else kind == "every"

    return iteration


def _exhausted() -> ValueError:
    return ValueError(f"more than {MAX_ITERATIONS:,} iteration steps (for, some, every) in one evaluation")


def _sequence(context: tuple[str, Fn, Fn | None], env: Mapping[str, Any]) -> list[Any] | range | None:
    # What one iteration context walks: its list, or the integers from ``low`` to ``high`` (either
    # way round, both included) for ``name in low..high``.
    _, low_fn, high_fn = context
    low = low_fn(env)
    if high_fn is None:
        return low if isinstance(low, list) else None
    start, stop = fb.integer(low), fb.integer(high_fn(env))
    if start is None or stop is None:
        return None
    return range(start, stop + 1) if start <= stop else range(start, stop - 1, -1)


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
