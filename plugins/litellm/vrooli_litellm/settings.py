"""Settings of the plugin, read from ``[plugins.litellm]`` of the project configuration.

Cheap to import (the plugin module imports it): nothing of litellm here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from vrooli_core.errors import ConfigError

__all__ = ["OFFLINE_MODELS", "LiteLLMSettings"]

#: Models that need no key and no network (see :mod:`vrooli_litellm.offline`).
OFFLINE_MODELS = frozenset({"offline/echo", "offline/scripted"})

_TOP = {"default_model", "models", "num_retries", "timeout", "max_tool_rounds", "max_repairs", "credits_per_usd"}


@attrs.frozen
class LiteLLMSettings:
    """``models`` maps an alias to litellm parameters (``model`` plus e.g. ``api_base``; ``api_key_env``
    names the variable holding the key); ``fallbacks`` maps an alias to the aliases tried after it."""

    default_model: str | None = None
    models: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    fallbacks: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    num_retries: int = 2
    #: Seconds one provider call may take (the Router's timeout; 0 in the config: none); a step's own
    #: ``timeout`` bounds the whole step.
    timeout: float | None = 600.0
    max_tool_rounds: int = 8
    max_repairs: int = 2
    #: Credits a model call uses per US dollar it costs (``None``: calls use no credits), so runs'
    #: ``max_credits`` limits apply to model spending too.
    credits_per_usd: float | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], origin: str = "[plugins.litellm]") -> LiteLLMSettings:
        unknown = sorted(set(data) - _TOP)
        if unknown:
            raise ConfigError(f"{origin}: unknown setting(s) {', '.join(unknown)} (known: {', '.join(sorted(_TOP))})")
        models: dict[str, dict[str, Any]] = {}
        fallbacks: dict[str, tuple[str, ...]] = {}
        raw_models = data.get("models", {})
        if not isinstance(raw_models, Mapping):
            raise ConfigError(f"{origin}: models must be a table of alias = model")
        for alias, entry in raw_models.items():
            params = {"model": entry} if isinstance(entry, str) else dict(entry) if isinstance(entry, Mapping) else None
            if params is None or not isinstance(params.get("model"), str):
                raise ConfigError(f"{origin}: model {alias!r} needs a litellm model name (a string or a table with model)")
            chain = params.pop("fallbacks", ())
            if isinstance(chain, str) or not all(isinstance(c, str) for c in chain):
                raise ConfigError(f"{origin}: fallbacks of model {alias!r} must be a list of model aliases")
            if chain:
                fallbacks[alias] = tuple(chain)
            env = params.pop("api_key_env", None)
            if env is not None:
                params["api_key"] = f"os.environ/{env}"  # litellm reads the variable when it builds the deployment
            models[alias] = params
        for alias, chain in fallbacks.items():
            missing = [c for c in chain if c not in models]
            if missing:
                raise ConfigError(f"{origin}: fallbacks of {alias!r} name unknown model(s) {', '.join(missing)}")
        try:
            settings = cls(
                default_model=data.get("default_model"),
                models=models,
                fallbacks=fallbacks,
                num_retries=int(data.get("num_retries", 2)),
                timeout=float(data.get("timeout", 600.0)) or None,
                max_tool_rounds=int(data.get("max_tool_rounds", 8)),
                max_repairs=int(data.get("max_repairs", 2)),
                credits_per_usd=None if data.get("credits_per_usd") is None else float(data["credits_per_usd"]),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{origin}: {exc}") from exc
        if settings.num_retries < 0 or settings.max_tool_rounds < 1 or settings.max_repairs < 0:
            raise ConfigError(f"{origin}: num_retries and max_repairs must be >= 0, max_tool_rounds >= 1")
        if settings.credits_per_usd is not None and settings.credits_per_usd < 0:
            raise ConfigError(f"{origin}: credits_per_usd must be >= 0")
        return settings

    def resolve(self, model: str) -> tuple[str, Mapping[str, Any]]:
        """The litellm model name and parameters behind ``model`` (an alias, or a litellm name)."""
        params = self.models.get(model)
        if params is None:
            return model, {}
        return str(params["model"]), params
