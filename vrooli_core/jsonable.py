"""Checking that a value can be stored: JSON types only (what every storage backend can keep)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_SCALARS = (str, int, float, bool, type(None))


def unstorable(value: Any) -> str | None:
    """``None`` when ``value`` is made of JSON types (tuples count as lists); otherwise where and what
    the first offending part is, e.g. ``"report.items[2]: datetime"``. Iterative: deep values are fine."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, _SCALARS):
            continue
        if isinstance(item, Mapping):
            for key, sub in item.items():
                if not isinstance(key, str):
                    return f"{path or '(top)'}: key {key!r} is not a string"
                stack.append((f"{path}.{key}" if path else key, sub))
        elif isinstance(item, (list, tuple)):
            stack.extend((f"{path}[{i}]", sub) for i, sub in enumerate(item))
        else:
            return f"{path or '(top)'}: {type(item).__name__}"
    return None
