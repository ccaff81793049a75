"""The vrooli-http plugin: registers the ``http`` strategy for ``api`` steps.

The entry point names :data:`plugin`, an :class:`HttpPlugin` with the default settings that the
host's configuration (``[plugins.http]``) replaces. An application that wants its own settings or a
secrets provider registers its own instance: ``host.register(HttpPlugin(secrets=vault), "http")``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

import attrs

from vrooli_core.plugins import hookimpl
from vrooli_http.settings import HttpSettings

if TYPE_CHECKING:
    from vrooli_core.config import Config
    from vrooli_http.secrets import SecretsProvider
    from vrooli_http.strategy import HttpStrategy


class HttpPlugin:
    """Settings and secrets provider shared by the strategies of the hosts it is registered on.

    ``settings`` are defaults under the host's ``[plugins.http]`` table; ``environ`` replaces
    ``os.environ`` for secret look-ups (tests).
    """

    config_name = "http"

    def __init__(
        self,
        settings: Mapping[str, Any] | HttpSettings | None = None,
        *,
        secrets: SecretsProvider | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._given = attrs.asdict(settings) if isinstance(settings, HttpSettings) else dict(settings or {})
        self.settings = HttpSettings.from_mapping(self._given)
        self.secrets = secrets
        self.environ = environ

    def __repr__(self) -> str:
        return f"<HttpPlugin secrets={type(self.secrets).__name__ if self.secrets else 'environment'}>"

    @hookimpl
    def vrooli_configure(self, config: Config) -> None:
        self.settings = HttpSettings.from_mapping({**self._given, **config.plugin(self.config_name)}, origin=config.origin)

    @hookimpl
    def vrooli_register_strategies(self) -> list[type[HttpStrategy]]:
        return [self.strategy_class]

    @cached_property
    def strategy_class(self) -> type[HttpStrategy]:
        """:class:`HttpStrategy` bound to this plugin (the engine instantiates it with no arguments)."""
        from vrooli_http.strategy import HttpStrategy

        owner = self

        class BoundHttpStrategy(HttpStrategy):
            plugin = owner

            def __init__(self) -> None:
                super().__init__(environ=owner.environ)

        BoundHttpStrategy.__qualname__ = BoundHttpStrategy.__name__ = "HttpStrategy"
        return BoundHttpStrategy


#: A ready instance, for registering by hand (the ``vrooli`` entry point ``http`` names the class:
#: each plugin host makes its own).
plugin = HttpPlugin()
