"""The messages of a model step: a system message from the persona, the prompt template filled in.

Templates use ``str.format`` fields — ``{name}``, ``{order.total}``, ``{items[0]}`` — but a field only
reads keys of mappings and items of lists: never an attribute of an object, never anything starting
with ``_``. So a template from a routine file cannot reach into Python objects.
"""

from __future__ import annotations

import json
import string
from collections.abc import Mapping, Sequence
from typing import Any

from vrooli_litellm.errors import PromptError

__all__ = ["build_messages", "render", "system_text"]


class _DataFormatter(string.Formatter):
    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[Any, str]:
        first, rest = _split(field_name)
        value = _item(kwargs, first, field_name)
        for _is_attr, key in rest:
            value = _item(value, key, field_name)
        return value, str(first)

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, (Mapping, list, tuple)) and not format_spec:
            return json.dumps(value, default=str, ensure_ascii=False)
        return super().format_field(value, format_spec)


def _split(field_name: str) -> tuple[Any, Any]:
    from _string import formatter_field_name_split  # the parser str.format itself uses

    return formatter_field_name_split(field_name)


def _item(value: Any, key: Any, field: str) -> Any:
    if isinstance(key, str) and key.startswith("_"):
        raise KeyError(field)
    if isinstance(value, Mapping):
        if key in value:
            return value[key]
        if isinstance(key, int) and str(key) in value:
            return value[str(key)]
        raise KeyError(field)
    if isinstance(value, (list, tuple)) and isinstance(key, int) and -len(value) <= key < len(value):
        return value[key]
    raise KeyError(field)


_FORMATTER = _DataFormatter()


def render(template: str, inputs: Any, step: str) -> str:
    """``template`` with its fields filled from ``inputs`` (a mapping; otherwise the field ``input``)."""
    names = inputs if isinstance(inputs, Mapping) else {"input": inputs}
    try:
        return _FORMATTER.vformat(template, (), names)
    except KeyError as exc:
        available = ", ".join(sorted(map(str, names))) or "none"
        raise PromptError(step, f"the prompt refers to {{{exc.args[0]}}}, which the inputs lack (inputs: {available})") from None
    except (IndexError, ValueError) as exc:
        raise PromptError(step, f"invalid prompt template: {exc}") from None


def system_text(config: Mapping[str, Any]) -> str | None:
    """``system``, else ``persona``: a text, or a table of ``role``, ``goal``, ``instructions``."""
    persona = config.get("system") or config.get("persona")
    if persona is None or isinstance(persona, str):
        return persona
    if isinstance(persona, Mapping):
        parts = []
        if persona.get("role"):
            parts.append(f"You are {persona['role']}.")
        if persona.get("goal"):
            parts.append(f"Your goal: {persona['goal']}.")
        if persona.get("instructions"):
            parts.append(str(persona["instructions"]))
        return " ".join(parts) or None
    return str(persona)


def build_messages(config: Mapping[str, Any], inputs: Any, step: str, *, extra_system: str = "") -> list[dict[str, Any]]:
    """The system message (persona plus ``extra_system``) and the user message (the prompt, else the
    inputs themselves: a text as is, anything else as JSON)."""
    system = "\n\n".join(p for p in (system_text(config) or "", extra_system) if p)
    prompt = config.get("prompt")
    if prompt is not None:
        user = render(str(prompt), inputs, step)
    else:
        user = inputs if isinstance(inputs, str) else json.dumps(inputs, default=str, ensure_ascii=False)
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": user})
    return messages
