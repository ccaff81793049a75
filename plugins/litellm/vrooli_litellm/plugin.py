"""The vrooli-litellm plugin: the ``conversational`` and ``reasoning`` strategies over litellm.

The entry point names :class:`LiteLLMPlugin`: each plugin host makes an instance of its own. This module imports only
cheap things (``vrooli --help`` imports it): the strategies when a host first asks for them, litellm
when a step first calls a model.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from vrooli_core.plugins import hookimpl
from vrooli_litellm.settings import LiteLLMSettings

if TYPE_CHECKING:
    from vrooli_core.config import Config
    from vrooli_core.execution.strategy import Strategy

__all__ = ["LiteLLMPlugin", "plugin"]


class LiteLLMPlugin:
    """Registers strategy classes bound to this object's :attr:`settings`: an engine's strategies
    read them when they make their first call, so configuration given after registration counts.

    A test or an embedding application registers its own instance, with its own settings::

        host.register(LiteLLMPlugin(LiteLLMSettings(default_model="offline/echo")), "litellm")
    """

    def __init__(self, settings: LiteLLMSettings | None = None) -> None:
        self.settings = settings or LiteLLMSettings()
        self._classes: list[type[Strategy]] | None = None

    def __repr__(self) -> str:
        return f"<LiteLLMPlugin default_model={self.settings.default_model!r}>"

    @hookimpl
    def vrooli_configure(self, config: Config) -> None:
        where = f"{config.origin or 'config'} [plugins.litellm]"
        self.settings = LiteLLMSettings.from_mapping(config.plugin("litellm"), origin=where)

    @hookimpl
    def vrooli_register_strategies(self) -> Iterable[type[Strategy]]:
        if self._classes is None:
            from vrooli_litellm.conversational import ConversationalStrategy
            from vrooli_litellm.reasoning import ReasoningStrategy

            self._classes = [
                type(cls.__name__, (cls,), {"settings_source": self, "__module__": cls.__module__, "__doc__": cls.__doc__})
                for cls in (ConversationalStrategy, ReasoningStrategy)
            ]
        return list(self._classes)


#: A ready instance, for registering by hand (the ``litellm`` entry point names the class: each
#: plugin host makes its own, configured by that host).
plugin = LiteLLMPlugin()
