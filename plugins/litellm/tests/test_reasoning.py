"""The reasoning strategy: native tool calls, tool errors fed back, the output schema repair loop."""

from __future__ import annotations

import json
from typing import Any

import pytest
from helpers import execute, model_step, sent_messages

from vrooli_core import tool
from vrooli_core.execution.safety import ALLOW, Deny, SafetyCheck, SafetyPoint, SafetyRequest, SafetyResult
from vrooli_core.model import OutcomeStatus

pytestmark = pytest.mark.anyio

SUM = {"type": "object", "properties": {"sum": {"type": "integer"}}, "required": ["sum"], "additionalProperties": False}
CALLS: list[dict[str, Any]] = []


@tool
def add(a: int, b: int) -> dict[str, int]:
    """Add two numbers."""
    CALLS.append({"a": a, "b": b})
    return {"sum": a + b}


@tool
def explode() -> None:
    """Always fails."""
    raise RuntimeError("kaboom")


@pytest.fixture(autouse=True)
def _clear() -> None:
    CALLS.clear()


def add_call(**arguments: Any) -> dict[str, Any]:
    return {"tool_calls": [{"id": "c1", "name": "add", "arguments": arguments}]}


def tool_answers(services: Any) -> list[str]:
    return [m["content"] for m in sent_messages(services)[-1] if m["role"] == "tool"]


async def test_tool_call_runs_once_with_validated_args() -> None:
    step = model_step(
        model="gpt-4o-mini", prompt="1+2?", tools=["add"], output_schema=SUM, script=[add_call(a=1, b=2), '{"sum": 3}']
    )
    outcome, services = await execute(step, tools=[add, explode])
    assert outcome.status is OutcomeStatus.COMPLETED and outcome.output == {"sum": 3}
    assert CALLS == [{"a": 1, "b": 2}]
    assert [v for p, v in services.safety_calls if p is SafetyPoint.BEFORE_TOOL_CALL] == [{"a": 1, "b": 2}]
    second = sent_messages(services)[1]
    assert second[-2]["tool_calls"][0]["function"]["name"] == "add"
    assert second[-1] == {"role": "tool", "tool_call_id": "c1", "name": "add", "content": '{"sum": 3}'}
    assert outcome.usage.model_calls == 2 and outcome.usage.input_tokens == 20 and outcome.usage.cost > 0


async def test_unknown_tool_and_invalid_args_are_fed_back() -> None:
    script = [
        {"tool_calls": [{"name": "multiply", "arguments": {"a": 1}}]},
        add_call(a="one", b=2),
        {"tool_calls": [{"name": "add", "arguments": "{not json"}]},
        {"tool_calls": [{"name": "explode", "arguments": {}}]},
        '{"sum": 0}',
    ]
    step = model_step(model="offline/scripted", tools=["add", "explode"], output_schema=SUM, script=script)
    outcome, services = await execute(step, tools=[add, explode])
    assert outcome.output == {"sum": 0} and CALLS == []
    errors = [json.loads(c)["error"] for c in tool_answers(services)]
    assert "unknown tool 'multiply'" in errors[0] and "add, explode" in errors[0]
    assert "invalid arguments" in errors[1] and "'one'" in errors[1]
    assert "not valid JSON" in errors[2]
    assert "kaboom" in errors[3]
    assert outcome.usage.model_calls == 5


async def test_tool_loop_limit() -> None:
    step = model_step("loop", model="offline/scripted", tools=["add"], max_tool_rounds=2, script=[add_call(a=1, b=1)] * 5)
    outcome, _ = await execute(step, tools=[add])
    assert outcome.status is OutcomeStatus.FAILED and outcome.error is not None
    assert (outcome.error.code, outcome.error.element) == ("tool_loop_limit", "loop")
    assert len(CALLS) == 2 and outcome.usage.model_calls == 3


async def test_repair_loop_feeds_validation_errors_back() -> None:
    step = model_step(model="offline/scripted", output_schema=SUM, script=["the sum is 3", '{"sum": "3"}', '```json\n{"sum": 3}\n```'])
    outcome, services = await execute(step)
    assert outcome.output == {"sum": 3}
    calls = sent_messages(services)
    assert "not JSON" in calls[1][-1]["content"]
    assert "sum: '3' is not of type 'integer'" in calls[2][-1]["content"]
    assert outcome.usage.model_calls == 3


async def test_repairs_exhausted_is_invalid_output_naming_the_step() -> None:
    step = model_step("extract", model="offline/scripted", output_schema=SUM, max_repairs=1, script=["no", "still no", '{"sum": 1}'])
    outcome, _ = await execute(step)
    assert outcome.status is OutcomeStatus.FAILED and outcome.error is not None
    assert (outcome.error.code, outcome.error.element) == ("invalid_output", "extract")
    assert "'extract'" in outcome.error.message
    assert outcome.usage.model_calls == 2


async def test_json_instruction_only_for_models_without_schema_support() -> None:
    _, services = await execute(model_step(model="offline/scripted", output_schema=SUM, script=['{"sum": 1}']))
    assert "JSON schema" in sent_messages(services)[0][0]["content"]
    _, services = await execute(model_step(model="gpt-4o-mini", output_schema=SUM, script=['{"sum": 1}']))
    assert all(m["role"] != "system" for m in sent_messages(services)[0])


async def test_offline_echo_answers_an_example_of_the_schema() -> None:
    schema = {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 2}, "tag": {"enum": ["a", "b"]}, "name": {"type": "string", "default": "Ada"}},
        "required": ["n", "tag"],
    }
    outcome, _ = await execute(model_step(model="offline/echo", output_schema=schema))
    assert outcome.output == {"n": 2, "tag": "a", "name": "Ada"}


class DenyTools(SafetyCheck):
    name = "deny-tools"

    async def check(self, request: SafetyRequest) -> SafetyResult:
        return Deny("no tools today") if request.point is SafetyPoint.BEFORE_TOOL_CALL else ALLOW


async def test_a_denied_tool_call_fails_the_step() -> None:
    step = model_step(model="offline/scripted", tools=["add"], script=[add_call(a=1, b=2), "done"])
    outcome, _ = await execute(step, tools=[add], checks=[DenyTools()])
    assert outcome.error is not None and outcome.error.code == "safety_denied" and CALLS == []


async def test_a_step_naming_a_missing_tool_fails() -> None:
    outcome, _ = await execute(model_step(model="offline/echo", tools=["nope"]), tools=[add])
    assert outcome.status is OutcomeStatus.FAILED and outcome.error is not None and "nope" in outcome.error.message


async def test_streamed_tool_calls_still_run() -> None:
    step = model_step(model="offline/scripted", tools=["add"], stream=True, script=[add_call(a=2, b=2), "four"])
    outcome, _ = await execute(step, tools=[add])
    assert outcome.output == "four" and CALLS == [{"a": 2, "b": 2}]
