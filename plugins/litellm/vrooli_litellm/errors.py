"""Errors of model steps. Each has a ``code`` (what the failed outcome carries, what navigators route
on) and a message that names the step."""

from __future__ import annotations

from vrooli_core.errors import VrooliError

__all__ = [
    "InvalidOutputError",
    "MissingApiKeyError",
    "ModelCallError",
    "ModelStepError",
    "ModelTimeoutError",
    "PromptError",
    "RateLimitedError",
    "ScriptExhaustedError",
    "ToolLoopLimitError",
]


class ModelStepError(VrooliError):
    """A model step failed; ``step`` is the step's id."""

    code = "model_error"

    def __init__(self, step: str, message: str) -> None:
        super().__init__(f"step {step!r}: {message}")
        self.step = step


class ModelCallError(ModelStepError):
    """The provider answered with an error (after the Router's retries and fallbacks)."""


class RateLimitedError(ModelCallError):
    code = "rate_limited"


class ModelTimeoutError(ModelCallError):
    code = "timeout"


class MissingApiKeyError(ModelCallError):
    """A real provider's model was asked for without its API key in the environment."""

    code = "missing_api_key"


class ScriptExhaustedError(ModelStepError):
    """A scripted model was called more often than its script has replies."""

    code = "script_exhausted"


class PromptError(ModelStepError):
    """The prompt template refers to something the step's inputs do not have."""

    code = "prompt_error"


class ToolLoopLimitError(ModelStepError):
    code = "tool_loop_limit"


class InvalidOutputError(ModelStepError):
    """The model's answer did not match the output schema after every repair attempt."""

    code = "invalid_output"
