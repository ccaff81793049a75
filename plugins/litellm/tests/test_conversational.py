"""The conversational strategy: prompt and persona, mock_response, usage and cost, streaming, errors."""

from __future__ import annotations

import pytest
from helpers import execute, model_step, sent_messages
from vrooli_litellm.events import ModelToken

from vrooli_core.model import OutcomeStatus

pytestmark = pytest.mark.anyio


async def test_one_turn_with_persona_and_prompt() -> None:
    step = model_step(
        model="gpt-4o-mini",
        persona={"role": "a geographer", "goal": "name capitals"},
        prompt="Capital of {country}? Facts: {facts.area}",
        params={"mock_response": "Paris"},
    )
    outcome, services = await execute(step, {"country": "France", "facts": {"area": 551695}})
    assert outcome.status is OutcomeStatus.COMPLETED and outcome.output == "Paris"
    [messages] = sent_messages(services)
    assert messages == [
        {"role": "system", "content": "You are a geographer. Your goal: name capitals."},
        {"role": "user", "content": "Capital of France? Facts: 551695"},
    ]
    assert [p for p, _ in services.safety_calls][-2:] == ["after_model_call", "after_step"]


async def test_usage_and_cost_come_from_litellm() -> None:
    import litellm

    outcome, _ = await execute(model_step(model="gpt-4o-mini", prompt="hi", params={"mock_response": "hello"}))
    usage = outcome.usage
    assert (usage.model_calls, usage.input_tokens, usage.output_tokens) == (1, 10, 20)
    price = litellm.model_cost["gpt-4o-mini"]
    expected = 10 * price["input_cost_per_token"] + 20 * price["output_cost_per_token"]
    assert usage.cost == pytest.approx(expected) and usage.cost > 0


async def test_missing_prompt_field_names_it() -> None:
    outcome, _ = await execute(model_step(model="offline/echo", prompt="Hi {name}"), {"nom": "Ada"})
    assert outcome.error is not None and outcome.error.code == "prompt_error" and outcome.error.element == "ask"
    assert "{name}" in outcome.error.message and "nom" in outcome.error.message


@pytest.mark.parametrize("template", ["{name.__class__}", "{name._x}", "{items.count}"])
async def test_prompt_reads_data_not_attributes(template: str) -> None:
    outcome, _ = await execute(model_step(model="offline/echo", prompt=template), {"name": "Ada", "items": [1]})
    assert outcome.error is not None and outcome.error.code == "prompt_error"


async def test_streaming_publishes_each_chunk_and_returns_the_whole_text() -> None:
    step = model_step(model="gpt-4o-mini", prompt="hi", stream=True, params={"mock_response": "one two three"})
    outcome, services = await execute(step)
    assert outcome.output == "one two three"
    tokens = [p for p in services.published if isinstance(p, ModelToken)]
    assert len(tokens) >= 3 and all(t.step == "ask" for t in tokens)
    assert "".join(t.text for t in tokens) == "one two three"
    assert outcome.usage.model_calls == 1 and outcome.usage.output_tokens > 0


async def test_no_stream_publishes_nothing() -> None:
    outcome, services = await execute(model_step(model="gpt-4o-mini", params={"mock_response": "x"}))
    assert outcome.output == "x" and services.published == []


async def test_offline_echo_needs_no_key() -> None:
    outcome, _ = await execute(model_step(model="offline/echo", prompt="Echo {word}"), {"word": "me"})
    assert outcome.status is OutcomeStatus.COMPLETED and outcome.output == "Echo me"
    assert outcome.usage.model_calls == 1 and outcome.usage.cost == 0.0


async def test_offline_scripted_replays_and_runs_out() -> None:
    outcome, _ = await execute(model_step(model="offline/scripted", script=["first"]))
    assert outcome.output == "first"
    outcome, _ = await execute(model_step(model="offline/scripted"))
    assert outcome.error is not None and outcome.error.code == "model_error" and "script" in outcome.error.message


async def test_missing_key_names_model_and_variable() -> None:
    outcome, _ = await execute(model_step("write", model="anthropic/claude-3-5-sonnet-20240620", prompt="hi"))
    assert outcome.status is OutcomeStatus.FAILED and outcome.error is not None
    assert outcome.error.code == "missing_api_key" and outcome.error.element == "write"
    assert "ANTHROPIC_API_KEY" in outcome.error.message and "claude-3-5-sonnet" in outcome.error.message


@pytest.mark.parametrize(
    ("reply", "code"),
    [("litellm.RateLimitError", "rate_limited"), ("litellm.Timeout", "timeout"), ("litellm.InternalServerError", "model_error")],
)
async def test_provider_errors_have_codes(reply: str, code: str) -> None:
    outcome, _ = await execute(model_step("s1", model="offline/scripted", script=[reply]))
    assert outcome.status is OutcomeStatus.FAILED and outcome.error is not None
    assert (outcome.error.code, outcome.error.element) == (code, "s1")
    assert "'s1'" in outcome.error.message


async def test_no_model_is_a_clear_error() -> None:
    outcome, _ = await execute(model_step(prompt="hi"))
    assert outcome.error is not None and "default_model" in outcome.error.message
