"""Plugin hosts for tests: a fresh host per test, and plugins registered for one test only."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from vrooli_core.plugins import PluginHost, hookimpl

__all__ = ["CapabilityPlugin", "flow_plugin", "make_host", "registered_plugin"]

_HOOKS = {
    "navigators": "vrooli_register_navigators",
    "strategies": "vrooli_register_strategies",
    "safety_checks": "vrooli_register_safety_checks",
    "storage_backends": "vrooli_register_storage_backends",
    "analyzers": "vrooli_register_analyzers",
    "tools": "vrooli_register_tools",
    "path_selectors": "vrooli_register_path_selectors",
}


class CapabilityPlugin:
    """A plugin object built from lists: ``CapabilityPlugin(navigators=[MyNavigator], tools=[greet])``.

    Only the ``vrooli_register_*`` hooks whose list was given are implemented, so the plugin shows
    exactly the hooks it provides in ``vrooli plugins``.
    """

    def __init__(self, **capabilities: Iterable[Any]) -> None:
        unknown = sorted(set(capabilities) - set(_HOOKS))
        if unknown:
            raise TypeError(f"unknown capability kind(s): {', '.join(unknown)} (known: {', '.join(_HOOKS)})")
        for kind, items in capabilities.items():
            setattr(self, _HOOKS[kind], _provider(list(items)))

    def __repr__(self) -> str:
        kinds = [kind for kind, hook in _HOOKS.items() if hook in vars(self)]
        return f"<CapabilityPlugin {', '.join(kinds)}>"


def _provider(items: list[Any]) -> Any:
    @hookimpl
    def provide() -> list[Any]:
        return list(items)

    return provide


def flow_plugin() -> CapabilityPlugin:
    """A plugin that provides the flow test navigator (:mod:`vrooli_core.testing.flow`)."""
    from vrooli_core.testing.flow import FlowNavigator

    return CapabilityPlugin(navigators=[FlowNavigator])


def make_host(*plugins: tuple[object, str], flow: bool = True) -> PluginHost:
    """A fresh host without entry points: the kernel builtins, the flow navigator (unless ``flow`` is
    false) and the given ``(plugin, name)`` pairs."""
    host = PluginHost.create(load_entrypoints=False)
    if flow:
        host.register(flow_plugin(), "flow")
    for plugin, name in plugins:
        host.register(plugin, name)
    return host


@contextmanager
def registered_plugin(host: PluginHost, plugin: object, name: str) -> Iterator[str]:
    """Register ``plugin`` on ``host`` as ``name`` for the ``with`` block; it is unregistered in
    ``finally``, even when the block fails. Yields the registered name."""
    registered = host.register(plugin, name)
    try:
        yield registered
    finally:
        host.unregister(registered)
