"""The plugin host: one pluggy manager per host, never one per module or process."""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from importlib import metadata
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs
import pluggy

from vrooli_core import hookspecs
from vrooli_core.errors import DuplicatePluginError, PluginLoadError, UnknownPluginError

if TYPE_CHECKING:
    import cattrs

    from vrooli_core.analysis import Analyzer
    from vrooli_core.config import Config
    from vrooli_core.engine.navigator import Navigator
    from vrooli_core.engine.paths import PathSelector
    from vrooli_core.execution.safety import SafetyCheck
    from vrooli_core.execution.strategy import Strategy
    from vrooli_core.execution.tools import ToolSpec
    from vrooli_core.storage.base import StorageBackend

__all__ = ["ENTRY_POINT_GROUP", "PluginHost", "PluginInfo", "Registry", "hookimpl"]

ENTRY_POINT_GROUP = "vrooli"
BUILTIN = "builtins"
hookimpl = pluggy.HookimplMarker("vrooli")

T = TypeVar("T")


@attrs.frozen
class PluginInfo:
    """What ``vrooli plugins`` shows about one plugin."""

    name: str
    status: str  # loaded | failed | blocked
    dist: str | None = None
    version: str | None = None
    hooks: tuple[str, ...] = ()
    provides: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    error: str | None = None
    traceback: str | None = None


class Registry(Mapping[str, T], Generic[T]):
    """Capabilities of one kind by name. ``registry[name]`` raises :class:`UnknownPluginError`."""

    def __init__(self, kind: str, items: dict[str, T], owners: dict[str, str]) -> None:
        self.kind = kind
        self._items = items
        self.owners = owners

    def __getitem__(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise UnknownPluginError(self.kind, name, list(self._items)) from None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"<Registry {self.kind}: {', '.join(self._items)}>"

    def add(self, name: str, item: T, owner: str) -> None:
        """Add or replace one capability (an engine's own tools)."""
        self._items[name] = item
        self.owners[name] = owner


class PluginHost:
    """Loads plugins and answers "which navigators, strategies, … are there".

    Use :meth:`create`; the constructor gives a host with nothing registered.
    """

    def __init__(self, *, strict: bool = False) -> None:
        self.pm = pluggy.PluginManager("vrooli")
        self.pm.add_hookspecs(hookspecs)
        self.strict = strict
        self._infos: dict[str, PluginInfo] = {}
        self._builtin_names: set[str] = set()
        self._cache: dict[str, Registry[Any]] = {}

    @classmethod
    def create(
        cls,
        *,
        load_entrypoints: bool = True,
        blocked: Iterable[str] = (),
        strict: bool = False,
        config: Config | None = None,
    ) -> PluginHost:
        """A host with the kernel builtins registered first, then the ``vrooli`` entry points one by one.

        ``VROOLI_DISABLE_PLUGINS`` (comma-separated names) adds to ``blocked``; ``VROOLI_LOAD_PLUGINS``,
        when set, loads only the named entry points (empty: none). A plugin that fails to import is
        recorded (``host.failures()``) and skipped, unless ``strict``.
        """
        from vrooli_core import builtins

        host = cls(strict=strict)
        host.register(builtins, name=BUILTIN)
        host._infos[BUILTIN] = attrs.evolve(host._infos[BUILTIN], dist="vrooli-core", version=_core_version())
        host._builtin_names.add(BUILTIN)
        if load_entrypoints:
            blocked_set = set(blocked) | _env_names("VROOLI_DISABLE_PLUGINS")
            allowed = _env_names("VROOLI_LOAD_PLUGINS") if "VROOLI_LOAD_PLUGINS" in os.environ else None
            host.load_entrypoints(blocked=blocked_set, allowed=allowed)
        if config is not None:
            host.configure(config)
        return host

    # -- registration --------------------------------------------------------------------------

    def register(self, plugin: object, name: str | None = None, *, dist: metadata.Distribution | None = None) -> str:
        """Register a plugin object (a module or any object with ``vrooli_*`` hookimpls)."""
        registered = self.pm.register(plugin, name=name)
        if registered is None:  # pluggy returns None for a blocked name
            raise PluginLoadError(name or repr(plugin), RuntimeError("the plugin name is blocked"))
        self._cache.clear()
        self._infos[registered] = PluginInfo(
            name=registered,
            status="loaded",
            dist=dist.metadata["Name"] if dist else None,
            version=dist.version if dist else None,
            hooks=tuple(sorted(h.name for h in self.pm.get_hookcallers(plugin) or ())),
        )
        return registered

    def unregister(self, name: str) -> None:
        self.pm.unregister(name=name)
        self._infos.pop(name, None)
        self._cache.clear()

    def load_entrypoints(self, *, blocked: set[str] = frozenset(), allowed: set[str] | None = None) -> None:  # type: ignore[assignment]
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist = ep.dist
            if ep.name in blocked or (allowed is not None and ep.name not in allowed) or self.pm.has_plugin(ep.name):
                self.pm.set_blocked(ep.name)
                self._infos[ep.name] = PluginInfo(
                    name=ep.name,
                    status="blocked",
                    dist=dist.metadata["Name"] if dist else None,
                    version=dist.version if dist else None,
                )
                continue
            try:
                plugin = ep.load()
                if isinstance(plugin, type):
                    # A class: one instance per host, so a plugin's configuration (vrooli_configure)
                    # and state belong to the host that loaded it, not to the whole process.
                    plugin = plugin()
                self.register(plugin, name=ep.name, dist=dist)
            except Exception as exc:  # a broken plugin must not take the host down (unless strict)
                if self.strict:
                    raise PluginLoadError(ep.name, exc) from exc
                self._infos[ep.name] = PluginInfo(
                    name=ep.name,
                    status="failed",
                    dist=dist.metadata["Name"] if dist else None,
                    version=dist.version if dist else None,
                )
                self._record_failure(ep.name, exc)

    def _record_failure(self, name: str, exc: BaseException) -> None:
        info = self._infos.get(name) or PluginInfo(name=name, status="failed")
        self._infos[name] = attrs.evolve(
            info,
            status="failed",
            error=f"{type(exc).__name__}: {exc}",
            traceback="".join(traceback.format_exception(exc)),
        )

    def configure(self, config: Config) -> None:
        self.pm.hook.vrooli_configure.call_historic(kwargs={"config": config})

    def configure_converter(self, converter: cattrs.Converter) -> None:
        # Not historic-call: each converter is configured by the plugins present when it is made.
        self.pm.hook.vrooli_configure_converter(converter=converter)

    # -- introspection -------------------------------------------------------------------------

    def plugins(self) -> list[PluginInfo]:
        """Every plugin the host knows of (loaded, failed or blocked) with what it provides."""
        provides: dict[str, dict[str, list[str]]] = {}
        for kind in _KINDS:
            registry = self._registry(kind)
            for cap, owner in registry.owners.items():
                provides.setdefault(owner, {}).setdefault(kind, []).append(cap)
        return [
            attrs.evolve(info, provides={k: tuple(sorted(v)) for k, v in provides.get(info.name, {}).items()})
            for info in self._infos.values()
        ]

    def is_builtin(self, plugin_name: str) -> bool:
        """Whether ``plugin_name`` is the kernel's builtin plugin (which any other plugin overrides)."""
        return plugin_name in self._builtin_names

    def failures(self) -> list[PluginInfo]:
        return [info for info in self._infos.values() if info.status == "failed"]

    # -- registries ----------------------------------------------------------------------------

    def navigators(self) -> Registry[type[Navigator]]:
        return self._registry("navigators")

    def strategies(self) -> Registry[type[Strategy]]:
        return self._registry("strategies")

    def safety_checks(self) -> Registry[type[SafetyCheck]]:
        return self._registry("safety_checks")

    def storage_backends(self) -> Registry[type[StorageBackend]]:
        return self._registry("storage_backends")

    def analyzers(self) -> Registry[type[Analyzer]]:
        return self._registry("analyzers")

    def path_selectors(self) -> Registry[type[PathSelector]]:
        return self._registry("path_selectors")

    def tools(self) -> Registry[ToolSpec]:
        return self._registry("tools")

    def _registry(self, kind: str) -> Registry[Any]:
        if kind not in self._cache:
            self._cache[kind] = self._collect(kind)
        return self._cache[kind]

    def _collect(self, kind: str) -> Registry[Any]:
        caller = getattr(self.pm.hook, f"vrooli_register_{kind}")
        to_item = _KINDS[kind]
        items: dict[str, Any] = {}
        owners: dict[str, str] = {}
        # get_hookimpls() lists in registration order: builtins first, so a plugin can replace one.
        for impl in caller.get_hookimpls():
            try:
                provided = list(impl.function() or ())
            except Exception as exc:  # plugin boundary: a broken hook is recorded, like a broken import
                if self.strict:
                    raise PluginLoadError(impl.plugin_name, exc) from exc
                self._record_failure(impl.plugin_name, exc)
                continue
            for obj in provided:
                item = to_item(obj)
                name = item.name
                if name in items:
                    if owners[name] in self._builtin_names and impl.plugin_name not in self._builtin_names:
                        items[name], owners[name] = item, impl.plugin_name
                        continue
                    raise DuplicatePluginError(_SINGULAR[kind], name, _origin(items[name]), _origin(item))
                items[name], owners[name] = item, impl.plugin_name
        return Registry(_SINGULAR[kind], items, owners)


def _as_tool(obj: Any) -> ToolSpec:
    from vrooli_core.execution.tools import ToolSpec, tool

    return obj if isinstance(obj, ToolSpec) else getattr(obj, "__vrooli_tool__", None) or tool(obj).__vrooli_tool__


def _same(obj: Any) -> Any:
    return obj


_KINDS: dict[str, Callable[[Any], Any]] = {
    "navigators": _same,
    "strategies": _same,
    "safety_checks": _same,
    "storage_backends": _same,
    "analyzers": _same,
    "path_selectors": _same,
    "tools": _as_tool,
}


_SINGULAR = {
    "navigators": "navigator",
    "strategies": "strategy",
    "safety_checks": "safety check",
    "storage_backends": "storage backend",
    "analyzers": "analyzer",
    "path_selectors": "path selector",
    "tools": "tool",
}


def _origin(item: Any) -> Any:
    return getattr(item, "fn", item)


def _core_version() -> str:
    from vrooli_core import __version__

    return __version__


def _env_names(var: str) -> set[str]:
    return {n.strip() for n in os.environ.get(var, "").split(",") if n.strip()}


def installed_distributions() -> list[tuple[str, str]]:
    """(name, version) of every installed distribution that declares a ``vrooli`` entry point,
    without importing any of them."""
    seen: dict[str, str] = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.dist is not None:
            seen[ep.dist.metadata["Name"]] = ep.dist.version
    return sorted(seen.items())

