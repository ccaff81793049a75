"""Tools offered to a model by native function calling, and running the calls it makes.

A call the model gets wrong — an unknown tool, arguments that are not JSON or do not match the
schema — and a tool that raises are answered to the model as a tool error, so it can correct itself;
safety denials and approvals are not: they stop the step as they would anywhere else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from vrooli_core.errors import ToolInputError, UnknownPluginError
from vrooli_core.execution.safety import SafetyPoint
from vrooli_core.execution.strategy import StepContext
from vrooli_core.execution.tools import ToolSpec
from vrooli_litellm.client import ToolCall

__all__ = ["MAX_ERROR_CHARS", "MAX_RESULT_CHARS", "offered_tools", "run_tool_call", "tool_definitions"]

#: A tool error sent back to the model is cut to this many characters (a traceback is not context).
MAX_ERROR_CHARS = 1000
#: A tool result sent back to the model is cut to this many characters.
MAX_RESULT_CHARS = 20_000


def offered_tools(ctx: StepContext) -> dict[str, ToolSpec]:
    """The tools ``step.config["tools"]`` names (``"*"``: every tool of the engine)."""
    wanted = ctx.step.config.get("tools") or ()
    if wanted == "*" or wanted is True:
        return dict(ctx.tools)
    if isinstance(wanted, str):
        wanted = [wanted]
    offered = {}
    for name in wanted:
        if name not in ctx.tools:
            raise UnknownPluginError("tool", f"{name} (named by step {ctx.step.id!r})", list(ctx.tools))
        offered[name] = ctx.tools[name]
    return offered


def tool_definitions(tools: Mapping[str, ToolSpec]) -> list[dict[str, Any]]:
    """OpenAI-shaped tool definitions, as litellm passes them to every provider that calls functions."""
    return [
        {
            "type": "function",
            "function": {"name": name, "description": spec.description, "parameters": dict(spec.parameters)},
        }
        for name, spec in tools.items()
    ]


async def run_tool_call(ctx: StepContext, tools: Mapping[str, ToolSpec], call: ToolCall) -> str:
    """Run one tool call; the text to answer the model with (the result, or an error)."""
    spec = tools.get(call.name)
    if spec is None:
        return _error(f"unknown tool {call.name!r}; the tools offered are: {', '.join(tools) or 'none'}")
    try:
        args = json.loads(call.arguments) if call.arguments.strip() else {}
    except json.JSONDecodeError as exc:
        return _error(f"the arguments of {call.name!r} are not valid JSON: {exc}")
    try:
        spec.validate(args)
    except ToolInputError as exc:
        return _error(str(exc))
    args = await ctx.check(SafetyPoint.BEFORE_TOOL_CALL, args, tool=call.name)
    try:
        result = await spec.call(args, ctx)
    except ToolInputError as exc:  # a redaction made the arguments invalid
        return _error(str(exc))
    except Exception as exc:  # tool boundary: the model hears what went wrong and may try otherwise
        return _error(f"tool {call.name!r} failed: {type(exc).__name__}: {exc}")
    text = result if isinstance(result, str) else json.dumps(result, default=str, ensure_ascii=False)
    return text if len(text) <= MAX_RESULT_CHARS else text[:MAX_RESULT_CHARS] + " …[truncated]"


def _error(message: str) -> str:
    if len(message) > MAX_ERROR_CHARS:
        message = message[:MAX_ERROR_CHARS] + " …[truncated]"
    return json.dumps({"error": message}, ensure_ascii=False)
