"""The reasoning strategy: native function calling in a bounded loop, then a validated structured output."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from vrooli_core.execution.safety import SafetyPoint
from vrooli_core.execution.strategy import StepContext
from vrooli_litellm.base import ModelStrategy, StepCalls
from vrooli_litellm.errors import InvalidOutputError, ToolLoopLimitError
from vrooli_litellm.prompt import build_messages
from vrooli_litellm.tooling import offered_tools, run_tool_call, tool_definitions

__all__ = ["ReasoningStrategy", "parse_output"]

_FENCE = re.compile(r"^```(?:json)?\s*\n(.*)\n```\s*$", re.S)


class ReasoningStrategy(ModelStrategy):
    """A ``model`` step with tools and/or an output schema.

    ``tools`` (names, or ``"*"``) are offered by native function calling; each round of calls the
    model makes is run (``before_tool_call`` checks, argument validation) and answered, up to
    ``max_tool_rounds`` rounds (else ``tool_loop_limit``). The final answer is parsed as JSON and
    validated against ``output_schema``; a mismatch is sent back with its problems up to
    ``max_repairs`` times (else ``invalid_output``). Models that take a JSON schema get it as
    ``response_format``; the others are asked for JSON in the system message.
    """

    name: ClassVar[str] = "reasoning"

    async def run(self, ctx: StepContext, calls: StepCalls) -> Any:
        step, config, settings = ctx.step.id, ctx.step.config, self.client.settings
        model = self.model_for(ctx)
        schema = config.get("output_schema") or None
        max_rounds = int(config.get("max_tool_rounds", settings.max_tool_rounds))
        max_repairs = int(config.get("max_repairs", settings.max_repairs))
        tools = offered_tools(ctx)
        definitions = tool_definitions(tools)
        native = schema is not None and self.client.supports_schema(model)
        response_format = {"type": "json_schema", "json_schema": {"name": "output", "schema": schema}} if native else None
        instruction = "" if schema is None or native else _json_instruction(schema)
        messages = build_messages(config, ctx.inputs, step, extra_system=instruction)
        rounds = repairs = 0
        while True:
            reply = await self.call(
                ctx, calls, model, messages, tools=definitions, response_format=response_format, schema=schema
            )
            if reply.tool_calls:
                rounds += 1
                if rounds > max_rounds:
                    raise ToolLoopLimitError(step, f"the model still calls tools after {max_rounds} rounds (max_tool_rounds)")
                messages.append(dict(reply.message))
                for call in reply.tool_calls:
                    content = await run_tool_call(ctx, tools, call)
                    messages.append({"role": "tool", "tool_call_id": call.id, "name": call.name, "content": content})
                continue
            text = await ctx.check(SafetyPoint.AFTER_MODEL_CALL, reply.content or "")
            if schema is None:
                return text
            value, problems = parse_output(text, schema)
            if not problems:
                return value
            repairs += 1
            if repairs > max_repairs:
                raise InvalidOutputError(
                    step, f"the answer does not match the output schema after {max_repairs} repair attempt(s): {problems}"
                )
            messages.append({"role": "assistant", "content": text if isinstance(text, str) else json.dumps(text)})
            messages.append({"role": "user", "content": _repair_request(problems)})


def parse_output(text: Any, schema: Mapping[str, Any]) -> tuple[Any, str]:
    """The JSON value in ``text`` (a code fence around it is allowed) and its problems with ``schema``
    (``""``: none)."""
    from jsonschema.validators import validator_for

    if isinstance(text, str):
        stripped = text.strip()
        fenced = _FENCE.match(stripped)
        try:
            value = json.loads(fenced.group(1) if fenced else stripped)
        except json.JSONDecodeError as exc:
            return None, f"the answer is not JSON ({exc})"
    else:
        value = text
    errors = sorted(validator_for(schema)(schema).iter_errors(value), key=lambda e: list(e.path))
    problems = "; ".join((".".join(map(str, e.path)) + ": " if e.path else "") + e.message for e in errors)
    return value, problems[:2000]


def _json_instruction(schema: Mapping[str, Any]) -> str:
    return (
        "Give your final answer as one JSON value, with no other text, that matches this JSON schema:\n"
        + json.dumps(schema, ensure_ascii=False)
    )


def _repair_request(problems: str) -> str:
    return (
        f"Your answer does not match the required JSON schema: {problems}\n"
        "Answer again with only the corrected JSON value."
    )
