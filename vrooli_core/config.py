"""Project configuration: ``vrooli.toml`` or ``[tool.vrooli]`` in ``pyproject.toml``."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from vrooli_core.errors import ConfigError


@attrs.frozen
class Config:
    """Settings of the kernel and, under ``plugins``, of every plugin by its entry-point name."""

    store: str | None = None
    path_policy: str = "first"
    max_concurrency: int = 32
    plugins: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    #: Where the configuration was read from, for messages.
    origin: str | None = None

    def plugin(self, name: str) -> Mapping[str, Any]:
        return self.plugins.get(name, {})

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], origin: str | None = None) -> Config:
        known = {"store", "path_policy", "max_concurrency", "plugins"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"{origin or 'config'}: unknown setting(s) {', '.join(unknown)}")
        plugins = data.get("plugins", {})
        if not isinstance(plugins, Mapping) or not all(isinstance(v, Mapping) for v in plugins.values()):
            raise ConfigError(f"{origin or 'config'}: [plugins.<name>] must be tables")
        try:
            return cls(
                store=data.get("store"),
                path_policy=str(data.get("path_policy", "first")),
                max_concurrency=int(data.get("max_concurrency", 32)),
                plugins=dict(plugins),
                origin=origin,
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{origin or 'config'}: {exc}") from exc

    @classmethod
    def discover(cls, start: Path | None = None) -> Config:
        """Read ``$VROOLI_CONFIG``, else the nearest ``vrooli.toml`` or ``pyproject.toml`` with
        ``[tool.vrooli]`` from ``start`` upwards; an empty config when there is none."""
        explicit = os.environ.get("VROOLI_CONFIG")
        if explicit:
            return cls._read(Path(explicit), pyproject=Path(explicit).name == "pyproject.toml")
        here = (start or Path.cwd()).resolve()
        for folder in (here, *here.parents):
            if (folder / "vrooli.toml").is_file():
                return cls._read(folder / "vrooli.toml", pyproject=False)
            pyproject = folder / "pyproject.toml"
            if pyproject.is_file():
                cfg = cls._read(pyproject, pyproject=True)
                if cfg.origin:
                    return cfg
        return cls()

    @classmethod
    def _read(cls, path: Path, *, pyproject: bool) -> Config:
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        if pyproject:
            section = data.get("tool", {}).get("vrooli")
            return cls() if section is None else cls.from_mapping(section, origin=f"{path} [tool.vrooli]")
        return cls.from_mapping(data, origin=str(path))
