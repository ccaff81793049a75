"""vrooli-litellm: ``conversational`` and ``reasoning`` strategies for model steps, over litellm.

Importing this package or its plugin module imports neither the strategies nor litellm (which takes
seconds): they are imported when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vrooli_litellm.conversational import ConversationalStrategy
    from vrooli_litellm.events import ModelToken
    from vrooli_litellm.offline import example_for
    from vrooli_litellm.plugin import LiteLLMPlugin
    from vrooli_litellm.reasoning import ReasoningStrategy
    from vrooli_litellm.settings import LiteLLMSettings

__version__ = "0.1.0"
__all__ = [
    "ConversationalStrategy",
    "LiteLLMPlugin",
    "LiteLLMSettings",
    "ModelToken",
    "ReasoningStrategy",
    "example_for",
]

_WHERE = {
    "ConversationalStrategy": "conversational",
    "LiteLLMPlugin": "plugin",
    "LiteLLMSettings": "settings",
    "ModelToken": "events",
    "ReasoningStrategy": "reasoning",
    "example_for": "offline",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"vrooli_litellm.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
