"""Safe templates: ``{inputs.order.id}``, ``{secret:API_TOKEN}``, ``{idempotency_key}``, ``{run_id}``,
``{step_id}``; ``{{`` and ``}}`` for literal braces.

A field is only ever looked up — key by key in the step's inputs (a number indexes a list) — never
evaluated, and attributes are never read, so a template cannot reach anything but its inputs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import attrs

from vrooli_http.errors import HttpStepError

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_PLAIN = ("idempotency_key", "run_id", "step_id")


@attrs.frozen
class Namespace:
    """What templates of one step may name; ``secrets`` holds the values already resolved."""

    step_id: str
    inputs: Any
    secrets: Mapping[str, str]
    plain: Mapping[str, str]


def secret_names(value: Any) -> Iterator[str]:
    """The secrets ``value`` (a template string, or a JSON structure of them) refers to."""
    for text in _strings(value):
        for match in _TOKEN.finditer(text):
            field = (match.group(1) or "").strip()
            if field.startswith("secret:"):
                yield field.removeprefix("secret:").strip()


def render(value: Any, ns: Namespace, *, escape: Callable[[str], str] | None = None, typed: bool = False) -> Any:
    """Fill the fields of every string in ``value`` (a string, or JSON lists and objects of them).
    ``escape`` is applied to each substituted value (URL paths are percent-encoded); with ``typed``,
    a string that is exactly one field becomes the field's value with its JSON type (a body's
    ``"{inputs.count}"`` stays a number)."""
    if isinstance(value, str):
        return _render_text(value, ns, escape, typed)
    if isinstance(value, Mapping):
        return {str(_render_text(str(k), ns, None, False)): render(v, ns, escape=escape, typed=typed) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render(v, ns, escape=escape, typed=typed) for v in value]
    return value


def url_segment(text: str) -> str:
    """Percent-encode a value put into a URL path, so ``a/../b`` stays one segment."""
    return quote(text, safe="")


def _render_text(text: str, ns: Namespace, escape: Callable[[str], str] | None, typed: bool) -> Any:
    if typed:
        whole = _TOKEN.fullmatch(text)
        if whole is not None and whole.group(1) is not None:
            return _lookup(whole.group(1).strip(), ns, text)
    parts: list[str] = []
    last = 0
    for match in _TOKEN.finditer(text):
        parts.append(text[last : match.start()])
        last = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            parts.append(token[0])
        elif match.group(1) is None:
            raise HttpStepError("invalid_config", f"step {ns.step_id!r}: unbalanced brace in template {text!r} (write {{{{ or }}}} for a literal one)")
        else:
            shown = _as_text(_lookup(match.group(1).strip(), ns, text))
            parts.append(escape(shown) if escape else shown)
    parts.append(text[last:])
    return "".join(parts)


def _lookup(field: str, ns: Namespace, text: str) -> Any:
    if field.startswith("secret:"):
        return ns.secrets[field.removeprefix("secret:").strip()]  # resolved beforehand: present
    if field in _PLAIN:
        return ns.plain[field]
    path = field.split(".")
    if path[0] != "inputs":
        raise HttpStepError(
            "invalid_config",
            f"step {ns.step_id!r}: unknown template field {{{field}}} in {text!r} "
            "(use {inputs.NAME}, {secret:NAME}, {idempotency_key}, {run_id} or {step_id})",
        )
    value = ns.inputs
    for i, key in enumerate(path[1:], start=1):
        if isinstance(value, Mapping) and key in value:
            value = value[key]
        elif isinstance(value, Sequence) and not isinstance(value, str) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            where = ".".join(path[: i + 1])
            raise HttpStepError("invalid_config", f"step {ns.step_id!r}: template {{{field}}} names a missing input {where!r}")
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return json.dumps(value, separators=(",", ":"), default=str)


def _strings(value: Any) -> Iterator[str]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, Mapping):
            stack.extend(str(k) for k in item)
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
