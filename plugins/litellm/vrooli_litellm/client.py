"""One litellm Router per strategy instance, and the one function every model call goes through.

litellm is imported here, on the first call, never when the plugin loads: it takes seconds to import.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from vrooli_core.model import Usage
from vrooli_litellm import offline
from vrooli_litellm.errors import MissingApiKeyError, ModelCallError, ModelTimeoutError, RateLimitedError
from vrooli_litellm.settings import OFFLINE_MODELS, LiteLLMSettings

__all__ = ["ModelClient", "Reply", "ToolCall", "load_litellm"]


def load_litellm() -> Any:
    """Import litellm with its cost map read from the installed package (no download at import)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    return litellm


@attrs.frozen
class ToolCall:
    id: str
    name: str
    #: As the model sent them: a JSON text, not yet parsed or validated.
    arguments: str


@attrs.frozen
class Reply:
    """One model answer: text and/or native tool calls, the assistant message to send back, and usage."""

    content: str | None
    tool_calls: tuple[ToolCall, ...]
    message: Mapping[str, Any]
    usage: Usage


class ModelClient:
    """Makes model calls through one lazily built ``litellm.Router``."""

    def __init__(self, settings: LiteLLMSettings) -> None:
        self.settings = settings
        self._router: Any = None

    @property
    def router(self) -> Any:
        if self._router is None:
            litellm = load_litellm()
            s = self.settings
            offline_params = {d["model_name"]: d["litellm_params"] for d in offline.deployments()}
            model_list = [
                {"model_name": alias, "litellm_params": dict(offline_params.get(str(params["model"]), params))}
                for alias, params in s.models.items()
            ]
            model_list += [d for d in offline.deployments() if d["model_name"] not in s.models]
            # Any other name is a litellm model name passed through as is ("openai/gpt-4o-mini").
            model_list.append({"model_name": "*", "litellm_params": {"model": "*"}})
            kwargs: dict[str, Any] = {"model_list": model_list, "num_retries": s.num_retries}
            if s.timeout is not None:
                kwargs["timeout"] = s.timeout
            if s.fallbacks:
                kwargs["fallbacks"] = [{alias: list(chain)} for alias, chain in s.fallbacks.items()]
            self._router = litellm.Router(**kwargs)
        return self._router

    def supports_schema(self, model: str) -> bool:
        """Whether ``model`` takes ``response_format`` with a JSON schema (else the prompt asks for JSON)."""
        if model in OFFLINE_MODELS:
            return False
        name, _ = self.settings.resolve(model)
        try:
            return bool(load_litellm().supports_response_schema(model=name))
        except Exception:  # litellm raises for models it has no entry for: then we do not know, so no
            return False

    def check_key(self, step: str, model: str) -> None:
        """Raise :class:`MissingApiKeyError` when ``model``'s provider needs a key the environment lacks."""
        if model in OFFLINE_MODELS or model in self.settings.fallbacks:
            return  # offline needs none; with fallbacks, the Router may still find a model it can call
        name, params = self.settings.resolve(model)
        key = params.get("api_key")
        if isinstance(key, str) and key.startswith("os.environ/"):
            var = key.removeprefix("os.environ/")
            if not os.environ.get(var):
                raise MissingApiKeyError(step, f"model {model!r} ({name}) needs an API key: set the environment variable {var}")
            return
        if key:
            return
        try:
            found = load_litellm().validate_environment(model=name)
        except Exception:  # unknown to litellm's key table: let the provider answer
            return
        missing = found.get("missing_keys") or []
        if not found.get("keys_in_environment") and missing:
            raise MissingApiKeyError(
                step, f"model {model!r} ({name}) needs an API key: set the environment variable {' or '.join(missing)}"
            )

    async def complete(
        self,
        step: str,
        model: str,
        messages: Sequence[Mapping[str, Any]],
        *,
        tools: Sequence[Mapping[str, Any]] = (),
        response_format: Mapping[str, Any] | None = None,
        stream: bool = False,
        on_text: Callable[[str], None] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> Reply:
        """One model call; provider errors become :class:`ModelCallError` and its subclasses."""
        litellm = load_litellm()
        kwargs: dict[str, Any] = dict(extra or {})
        if not any(k.startswith("mock_") for k in kwargs):
            self.check_key(step, model)
        if tools:
            kwargs["tools"] = list(tools)
        if response_format is not None:
            kwargs["response_format"] = dict(response_format)
        try:
            response = await self.router.acompletion(model=model, messages=list(messages), stream=stream, **kwargs)
            if stream:
                chunks = []
                async for chunk in response:
                    chunks.append(chunk)
                    text = chunk.choices[0].delta.content if chunk.choices else None
                    if text and on_text is not None:
                        on_text(text)
                response = litellm.stream_chunk_builder(chunks, messages=list(messages))
        except litellm.RateLimitError as exc:
            raise RateLimitedError(step, f"model {model!r} is rate limited: {_first_line(exc)}") from exc
        except litellm.Timeout as exc:
            raise ModelTimeoutError(step, f"model {model!r} timed out: {_first_line(exc)}") from exc
        except Exception as exc:  # provider boundary: litellm, openai and httpx errors of every kind
            raise ModelCallError(step, f"model {model!r} failed: {type(exc).__name__}: {_first_line(exc)}") from exc
        return _reply(litellm, response)


def _reply(litellm: Any, response: Any) -> Reply:
    message = response.choices[0].message
    calls = tuple(
        ToolCall(id=c.id or f"call_{n}", name=c.function.name or "", arguments=c.function.arguments or "")
        for n, c in enumerate(message.tool_calls or (), 1)
    )
    sent: dict[str, Any] = {"role": "assistant", "content": message.content}
    if calls:
        sent["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in calls
        ]
    usage = getattr(response, "usage", None)
    return Reply(
        content=message.content,
        tool_calls=calls,
        message=sent,
        usage=Usage(
            input_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            output_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            cost=_cost(litellm, response),
            model_calls=1,
        ),
    )


def _cost(litellm: Any, response: Any) -> float:
    cost = (getattr(response, "_hidden_params", None) or {}).get("response_cost")
    if cost is None:
        try:
            cost = litellm.completion_cost(completion_response=response)
        except Exception:  # a model litellm has no price for costs what we cannot know: 0
            cost = 0.0
    return float(cost or 0.0)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:500] if text else type(exc).__name__


def dumps(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)
