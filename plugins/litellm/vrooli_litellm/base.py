"""What the conversational and reasoning strategies share: settings, the client, one model call."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import attrs

from vrooli_core.execution.safety import SafetyPoint
from vrooli_core.execution.strategy import StepContext, Strategy
from vrooli_core.model import ErrorInfo, Outcome, OutcomeStatus, StepKind, Usage
from vrooli_litellm import offline
from vrooli_litellm.client import ModelClient, Reply
from vrooli_litellm.errors import ModelStepError, ScriptExhaustedError
from vrooli_litellm.events import ModelToken
from vrooli_litellm.settings import OFFLINE_MODELS, LiteLLMSettings

__all__ = ["ModelStrategy", "StepCalls"]


class StepCalls:
    """The model calls of one step execution: how many, and what they used."""

    def __init__(self) -> None:
        self.count = 0
        self.usage = Usage()


class ModelStrategy(Strategy):
    """Base of the litellm strategies. The engine instantiates strategies without arguments, so
    settings come from ``settings_source`` (an object with a ``settings`` attribute: the plugin that
    registered the class, which ``vrooli_configure`` updates) when the first call is made."""

    kinds: ClassVar[frozenset[StepKind]] = frozenset({StepKind.MODEL})
    settings_source: ClassVar[Any] = None

    def __init__(self, settings: LiteLLMSettings | None = None) -> None:
        self._settings = settings
        self._client: ModelClient | None = None

    @property
    def client(self) -> ModelClient:
        if self._client is None:
            settings = self._settings or getattr(self.settings_source, "settings", None) or LiteLLMSettings()
            self._client = ModelClient(settings)
        return self._client

    async def execute(self, ctx: StepContext) -> Outcome:
        calls = StepCalls()
        try:
            output = await self.run(ctx, calls)
        except ModelStepError as exc:  # failed, but what the calls before the failure cost still counts
            error = ErrorInfo.from_exception(exc, element=ctx.step.id)
            return Outcome(status=OutcomeStatus.FAILED, error=error, usage=calls.usage)
        return Outcome(output=output, usage=calls.usage)

    async def run(self, ctx: StepContext, calls: StepCalls) -> Any:
        raise NotImplementedError

    def model_for(self, ctx: StepContext) -> str:
        model = ctx.step.config.get("model") or self.client.settings.default_model
        if not model:
            raise ModelStepError(
                ctx.step.id, "no model: set model in the step's config or default_model in [plugins.litellm]"
            )
        return str(model)

    async def call(
        self,
        ctx: StepContext,
        calls: StepCalls,
        model: str,
        messages: list[dict[str, Any]],
        *,
        tools: Sequence[Mapping[str, Any]] = (),
        response_format: Mapping[str, Any] | None = None,
        schema: Mapping[str, Any] | None = None,
    ) -> Reply:
        """One model call of the step, between the ``before_model_call`` check (on the messages) and
        the caller's ``after_model_call`` check; streamed text is published as :class:`ModelToken`."""
        step = ctx.step
        # A copy: the caller appends to its list, and a check may keep what it was shown.
        checked = await ctx.check(SafetyPoint.BEFORE_MODEL_CALL, [dict(m) for m in messages])
        stream = bool(step.config.get("stream"))
        extra = dict(step.config.get("params") or {})
        extra.update(self._mock(step.id, step.config, model, checked, calls.count, schema, stream))
        calls.count += 1
        reply = await self.client.complete(
            step.id,
            model,
            checked,
            tools=tools,
            response_format=response_format,
            stream=stream,
            on_text=(lambda text: ctx.publish(ModelToken(step.id, text))) if stream else None,
            extra=extra,
        )
        used = reply.usage
        rate = self.client.settings.credits_per_usd
        if rate:
            used = attrs.evolve(used, credits=used.cost * rate)
        calls.usage = calls.usage + used
        # Counted in the run's usage now: a cost or credit limit stops the step between calls.
        await ctx.charge(used, what="model", detail={"model": model, "call": calls.count})
        return reply

    def _mock(
        self,
        step: str,
        config: Mapping[str, Any],
        model: str,
        messages: Sequence[Mapping[str, Any]],
        index: int,
        schema: Mapping[str, Any] | None,
        stream: bool,
    ) -> dict[str, Any]:
        script = config.get("script")
        base = self.client.settings.resolve(model)[0]
        if script is not None:
            if not isinstance(script, list):
                raise ModelStepError(step, "script must be a list of replies")
            if index >= len(script):
                raise ScriptExhaustedError(step, f"the script has {len(script)} replies and call {index + 1} found none left")
            return offline.script_mock(script[index], stream=stream)
        if base == "offline/scripted":
            raise ModelStepError(step, "model offline/scripted replays config.script, and the step has none")
        if base in OFFLINE_MODELS:
            return offline.echo_mock(messages, schema)
        return {}
