"""Sandboxed expressions over run variables (conditions, mappings). Never Python ``eval``.

Expressions are evaluated by simpleeval: literals, names, attribute-free operators, comparisons,
boolean logic, subscripts and a small set of functions. No imports, no attribute access to dunders,
no comprehensions over unbounded input, and bounded powers and string sizes.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from vrooli_core.errors import ExpressionError

_FUNCTIONS = {
    "len": len,
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "sum": sum,
    "any": any,
    "all": all,
    "sorted": sorted,
    "lower": lambda s: str(s).lower(),
    "upper": lambda s: str(s).upper(),
}


@lru_cache(maxsize=4096)
def _parse(expression: str) -> Any:
    import ast

    try:
        return ast.parse(expression.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ExpressionError(f"invalid expression {expression!r}: {exc.msg}") from None


_LOCAL = threading.local()


def _evaluator() -> Any:
    """One evaluator per thread, reused (building one costs about 10 µs); only its names change."""
    evaluator = getattr(_LOCAL, "evaluator", None)
    if evaluator is None:
        from simpleeval import EvalWithCompoundTypes

        # A copy: simpleeval adds its compound-type constructors to the table it is given.
        evaluator = _LOCAL.evaluator = EvalWithCompoundTypes(functions=dict(_FUNCTIONS))
    return evaluator


def evaluate(expression: str, names: Mapping[str, Any], *, element: str | None = None) -> Any:
    """Evaluate ``expression`` with ``names`` (run variables) in scope; raise :class:`ExpressionError`
    naming the element when it is invalid, refers to an unknown name or fails."""
    from simpleeval import InvalidExpression

    evaluator = _evaluator()
    evaluator.names = names
    try:
        tree = _parse(expression)
    except ExpressionError as exc:
        raise ExpressionError(exc.message, element=element) from None
    try:
        return evaluator.eval(expression, previously_parsed=tree)
    except InvalidExpression as exc:
        raise ExpressionError(f"cannot evaluate {expression!r}: {exc}", element=element) from None
    except Exception as exc:  # the expression's own failure (TypeError, ZeroDivisionError, …)
        raise ExpressionError(
            f"evaluating {expression!r} failed: {type(exc).__name__}: {exc}", element=element
        ) from None


def check(expression: str, *, element: str | None = None) -> None:
    """Raise :class:`ExpressionError` if ``expression`` does not parse (used at load time)."""
    try:
        _parse(expression)
    except ExpressionError as exc:
        raise ExpressionError(exc.message, element=element) from None
