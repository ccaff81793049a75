"""The hook specifications of vrooli: nothing but specs.

Every ``vrooli_register_*`` hook is called once per :class:`~vrooli_core.plugins.PluginHost`, when the
matching registry is first asked for. Each returns an iterable of classes (tools: tool specs or
``@tool`` functions); every class has a unique ``name: ClassVar[str]``. Hooks are synchronous; the
methods of the classes they return may be ``async`` and the kernel awaits them under anyio.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    import cattrs

    from vrooli_core.analysis import Analyzer
    from vrooli_core.config import Config
    from vrooli_core.engine.engine import Engine
    from vrooli_core.engine.navigator import Navigator
    from vrooli_core.engine.paths import PathSelector
    from vrooli_core.execution.safety import SafetyCheck
    from vrooli_core.execution.strategy import Strategy
    from vrooli_core.model import StepDef
    from vrooli_core.storage.base import StorageBackend

hookspec = pluggy.HookspecMarker("vrooli")


@hookspec
def vrooli_register_navigators() -> Iterable[type[Navigator]]:
    """Return :class:`~vrooli_core.engine.navigator.Navigator` subclasses: readers of a routine format.

    Called when ``host.navigators()`` is first used. All results are collected; a name registered by
    two plugins is an error, except that a plugin may replace a kernel builtin.
    """


@hookspec
def vrooli_register_strategies() -> Iterable[type[Strategy]]:
    """Return :class:`~vrooli_core.execution.strategy.Strategy` subclasses: ways to execute one step.

    Called when ``host.strategies()`` is first used; all results are collected.
    """


@hookspec
def vrooli_register_safety_checks() -> Iterable[type[SafetyCheck]]:
    """Return :class:`~vrooli_core.execution.safety.SafetyCheck` subclasses.

    Called when ``host.safety_checks()`` is first used; every registered check is active in an engine
    unless the engine is given an explicit list.
    """


@hookspec
def vrooli_register_storage_backends() -> Iterable[type[StorageBackend]]:
    """Return :class:`~vrooli_core.storage.base.StorageBackend` subclasses.

    Called when ``host.storage_backends()`` is first used. A backend claims URL schemes through its
    ``schemes`` class attribute; ``host.open_storage(url)`` picks the backend by scheme.
    """


@hookspec
def vrooli_register_analyzers() -> Iterable[type[Analyzer]]:
    """Return :class:`~vrooli_core.analysis.Analyzer` subclasses, which read run history and return
    findings and proposed routine versions. Called when ``host.analyzers()`` is first used."""


@hookspec
def vrooli_register_tools() -> Iterable[Any]:
    """Return tools strategies may call: functions decorated with :func:`vrooli_core.tool` or
    :class:`~vrooli_core.execution.tools.ToolSpec` objects. Called when ``host.tools()`` is first used."""


@hookspec
def vrooli_register_path_selectors() -> Iterable[type[PathSelector]]:
    """Return :class:`~vrooli_core.engine.paths.PathSelector` subclasses: model-based answers to path
    choices a navigator offers. Used when an engine's path policy is ``"model"``."""


@hookspec(firstresult=True)
def vrooli_choose_strategy(step: StepDef, strategies: list[str]) -> str | None:
    """Choose the strategy for a step that says ``auto`` (or names none): return one of
    ``strategies`` (the registered names), or ``None`` to leave the choice to the next plugin and
    finally to the kernel's default (model steps with tools or an output schema reason, other model
    steps converse, other kinds go by kind). The first plugin that answers decides; the choice is
    recorded on the step's ``step.started`` event."""


@hookspec
def vrooli_engine_resources(engine: Engine) -> AbstractAsyncContextManager[Any] | None:
    """Return an async context manager for what the plugin holds while an engine is open (server
    processes, connections, clients), or ``None``. ``Engine.open`` enters each one after making the
    engine, before any run moves, and exits them in reverse order once runs have stopped, before
    storage closes — shielded from cancellation, so they always get to clean up."""


@hookspec(historic=True)
def vrooli_configure(config: Config) -> None:
    """Receive the project configuration once it is known (historic: plugins registered later get it
    too). A plugin reads its own table, ``config.plugin(name)``, and raises ``ConfigError`` on bad values.
    """


@hookspec
def vrooli_configure_converter(converter: cattrs.Converter) -> None:
    """Extend a converter made by :func:`vrooli_core.serialization.make_converter` with hooks for the
    plugin's own attrs types. Called once for every converter an engine makes, by the plugins present
    at that time."""
