"""Model steps in a real engine: the auto policy, configuration, and the run's cost limit."""

from __future__ import annotations

import pytest
from vrooli_litellm.settings import LiteLLMSettings

from vrooli_core import Engine
from vrooli_core.config import Config
from vrooli_core.errors import ConfigError
from vrooli_core.model import Limits, RoutineSource, RunStatus
from vrooli_core.plugins import PluginHost

pytestmark = pytest.mark.anyio

THREE_ASKS = """
id = "asks"
start = "a"
[steps.a]
kind = "model"
config = {model = "gpt-4o", prompt = "one", params = {mock_response = "1"}}
out = {a = ""}
next = "b"
[steps.b]
kind = "model"
config = {model = "gpt-4o", prompt = "two", params = {mock_response = "2"}}
out = {b = ""}
next = "c"
[steps.c]
kind = "model"
config = {model = "gpt-4o", prompt = "three", params = {mock_response = "3"}}
out = {c = ""}
"""

REASON = """
id = "reason"
start = "extract"
[steps.extract]
kind = "model"
config = {model = "fast", prompt = "Name a number above {low}"}
output_schema = {type = "object", properties = {n = {type = "integer", minimum = 5}}, required = ["n"]}
in = {low = "low"}
"""


def source(text: str) -> RoutineSource:
    return RoutineSource(text, "t.flow.toml")


async def test_cost_limit_stops_a_run_of_model_steps(host: PluginHost, store: str) -> None:
    async with Engine.open(store, host=host) as engine:
        unlimited = await engine.run(source(THREE_ASKS))
        assert unlimited.status is RunStatus.COMPLETED, unlimited.error
        per_step = unlimited.usage.cost / 3
        assert per_step > 0 and unlimited.usage.model_calls == 3
        run = await engine.run(source(THREE_ASKS), limits=Limits(max_cost=per_step * 1.5))
        history = await engine.history(run.id)
    assert run.status is RunStatus.FAILED and run.error is not None and run.error.code == "limit_exceeded"
    assert [e.payload.limit for e in history if e.type == "limit.reached"] == ["max_cost"]
    assert run.usage.model_calls == 2 and run.usage.cost == pytest.approx(2 * per_step)


async def test_auto_policy_and_aliases_from_project_config(plugin, host: PluginHost, store: str) -> None:
    host.configure(Config.from_mapping({"plugins": {"litellm": {"models": {"fast": "offline/echo"}}}}))
    assert plugin.settings.models["fast"] == {"model": "offline/echo"}
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(source(REASON), {"low": 5})
        charged = [e.payload for e in await engine.history(run.id) if e.type == "usage.charged"]
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.outputs == {"low": 5, "n": 5}
    # One model call, recorded as it was made, with the alias resolved.
    assert [(c.step, c.usage.model_calls, c.detail["model"]) for c in charged] == [("extract", 1, "fast")]
    assert run.usage.model_calls == 1


async def test_default_model_from_config_and_streamed_tokens(plugin, host: PluginHost, store: str) -> None:
    host.configure(Config.from_mapping({"plugins": {"litellm": {"default_model": "offline/echo"}}}))
    text = 'id = "hello"\n[steps.hi]\nkind = "model"\nconfig = {prompt = "Hello {name}", stream = true}\nin = {name = "name"}\nout = {reply = ""}\n'
    seen: list[str] = []
    async with Engine.open(store, host=host) as engine:
        engine.bus.subscribe(lambda e: seen.append(e.payload.text), types=["model.token"])
        run = await engine.run(source(text), {"name": "Ada"})
    assert run.status is RunStatus.COMPLETED and run.outputs["reply"] == "Hello Ada"
    assert "".join(seen) == "Hello Ada"


async def test_model_spending_counts_as_credits_and_a_credit_limit_stops_the_run(plugin, host: PluginHost, store: str) -> None:
    host.configure(Config.from_mapping({"plugins": {"litellm": {"credits_per_usd": 1000}}}))
    async with Engine.open(store, host=host) as engine:
        unlimited = await engine.run(source(THREE_ASKS))
        assert unlimited.status is RunStatus.COMPLETED, unlimited.error
        assert unlimited.usage.cost > 0 and unlimited.usage.credits == pytest.approx(unlimited.usage.cost * 1000)
        per_step = unlimited.usage.credits / 3
        run = await engine.run(source(THREE_ASKS), limits=Limits(max_credits=per_step * 1.5))
    assert run.status is RunStatus.FAILED and run.error is not None and run.error.code == "limit_exceeded"
    assert run.error.details["limit"] == "max_credits" and run.usage.model_calls == 2


def test_credits_per_usd_must_not_be_negative() -> None:
    with pytest.raises(ConfigError, match="credits_per_usd must be >= 0"):
        LiteLLMSettings.from_mapping({"credits_per_usd": -1})


FALLBACK = """
id = "fallback"
start = "ask"
[steps.ask]
kind = "model"
config = {model = "primary", prompt = "Hello"}
out = {answer = ""}
"""


async def test_a_failing_model_falls_back_to_the_next_in_its_chain(plugin, host: PluginHost, store: str) -> None:
    # Deployment parameters mock each provider: the primary is rate limited, the backup answers.
    models = {
        "primary": {"model": "openai/primary", "mock_response": "litellm.RateLimitError", "fallbacks": ["backup"]},
        "backup": {"model": "openai/backup", "mock_response": "from the backup"},
    }
    host.configure(Config.from_mapping({"plugins": {"litellm": {"models": models, "num_retries": 0}}}))
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(source(FALLBACK))
        charged = [e.payload for e in await engine.history(run.id) if e.type == "usage.charged"]
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.outputs["answer"] == "from the backup"
    assert [c.detail["model"] for c in charged] == ["primary"]  # one call, answered by the fallback


async def test_a_model_without_fallbacks_that_fails_fails_the_step_by_code(plugin, host: PluginHost, store: str) -> None:
    models = {"primary": {"model": "openai/primary", "mock_response": "litellm.RateLimitError", "api_key": "k"}}
    host.configure(Config.from_mapping({"plugins": {"litellm": {"models": models, "num_retries": 0}}}))
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(source(FALLBACK))
    assert run.status is RunStatus.FAILED and run.error is not None
    assert run.error.code == "rate_limited" and run.error.element == "ask"
