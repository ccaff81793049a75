"""Offline models: answers without a key or a network, the same for every run.

Both are delivered through litellm's ``mock_response`` (and ``mock_tool_calls``), so an offline call
takes the same path through the Router as a real one: usage, streaming, errors. Their Router
deployment is an OpenAI-shaped model with a dummy key that is never used, and costs nothing.

``offline/echo``
    Answers with the text of the last user message (the formatted prompt). A step with an
    ``output_schema`` gets one JSON value built from the schema instead (:func:`example_for`).

``offline/scripted``
    Replays ``step.config["script"]``, one item per model call of a step execution: the first call of
    every execution gets the first item, so an execution is deterministic however many run at once.
    An item is a string (the reply text), or a table ``{content = "…", tool_calls = [{name = "add",
    arguments = {a = 1}}]}``. The strings ``"litellm.RateLimitError"``,
    ``"litellm.InternalServerError"`` and ``"litellm.Timeout"`` make the call fail that way.

A ``script`` given to a step of any other model is replayed the same way (litellm mocks the call,
so no key is needed) and priced with that model's costs: how tests exercise cost limits offline.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from vrooli_litellm.settings import OFFLINE_MODELS

__all__ = ["OFFLINE_MODELS", "deployments", "echo_mock", "example_for", "script_mock"]


def deployments() -> list[dict[str, Any]]:
    """Router deployments of the offline models (litellm resolves ``openai/…`` without a network)."""
    return [
        {
            "model_name": name,
            "litellm_params": {
                "model": f"openai/{name.replace('/', '-')}",
                "api_key": "offline-no-key",
                # Priced at zero here, every price litellm knows (with one missing it warns on every
                # Router): litellm then skips looking the name up in its cost map.
                "input_cost_per_token": 0.0,
                "output_cost_per_token": 0.0,
                "cache_creation_input_token_cost": 0.0,
                "cache_read_input_token_cost": 0.0,
            },
        }
        for name in sorted(OFFLINE_MODELS)
    ]


def echo_mock(messages: Sequence[Mapping[str, Any]], schema: Mapping[str, Any] | None) -> dict[str, Any]:
    if schema:
        return {"mock_response": json.dumps(example_for(schema))}
    last = next((m for m in reversed(messages) if m.get("role") == "user"), None)
    content = last.get("content") if last else ""
    return {"mock_response": content if isinstance(content, str) else json.dumps(content)}


def script_mock(item: Any, *, stream: bool) -> dict[str, Any]:
    """litellm call arguments that make the call answer ``item``."""
    if isinstance(item, str):
        if item == "litellm.Timeout":
            return {"mock_timeout": True, "timeout": 0.001}
        return {"mock_response": item}
    if not isinstance(item, Mapping):
        return {"mock_response": json.dumps(item)}
    content = item.get("content")
    if not isinstance(content, str) and content is not None:
        content = json.dumps(content)
    calls = [
        {
            "id": str(call.get("id") or f"call_{n}"),
            "type": "function",
            "function": {"name": str(call["name"]), "arguments": _arguments(call.get("arguments", {}))},
        }
        for n, call in enumerate(item.get("tool_calls") or (), 1)
    ]
    if not calls:
        return {"mock_response": content or ""}
    if stream:  # litellm streams a whole ModelResponse, tool calls included; mock_tool_calls it ignores
        import litellm

        message = {"role": "assistant", "content": content, "tool_calls": calls}
        return {"mock_response": litellm.ModelResponse(choices=[{"index": 0, "message": message, "finish_reason": "tool_calls"}])}
    return {"mock_response": content or "", "mock_tool_calls": calls}


def _arguments(arguments: Any) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def example_for(schema: Mapping[str, Any]) -> Any:
    """A value for ``schema``: its ``default``, else its first ``examples`` item, else its ``const``,
    else its first ``enum`` value, else the first ``anyOf``/``oneOf`` branch, else by ``type``: an object
    with an example of every declared property, ``minItems`` examples of ``items``, ``""`` (padded to
    ``minLength``), the ``minimum`` or 0, ``False``, ``None``."""
    for key in ("default", "const"):
        if key in schema:
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return example_for(schema[key][0])
    if schema.get("allOf"):
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(part)
        return example_for(merged)
    kind = schema.get("type", "object" if "properties" in schema else "null")
    if isinstance(kind, list):
        kind = kind[0] if kind else "null"
    if kind == "object":
        return {name: example_for(sub) for name, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [example_for(schema.get("items") or {}) for _ in range(int(schema.get("minItems", 0)))]
    if kind == "string":
        return "x" * int(schema.get("minLength", 0))
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0) + (1 if "exclusiveMinimum" in schema else 0))
        return int(low) if kind == "integer" else float(low)
    return False if kind == "boolean" else None
