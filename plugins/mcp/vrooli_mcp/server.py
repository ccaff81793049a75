"""How to start one MCP server: :class:`MCPServer`, from Python or from the project configuration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from vrooli_core.errors import ConfigError

__all__ = ["MCPServer", "servers_from_config"]

_KEYS = {"command", "env", "cwd", "timeout", "startup_timeout"}


def _positive(inst: Any, attr: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ValueError(f"{attr.name} must be a positive number of seconds, got {value!r}")


@attrs.frozen
class MCPServer:
    """An MCP server reached over stdio: ``command`` (program and arguments) is started on first use.

    ``env`` is added to a minimal safe environment (the ``mcp`` package's default, not the whole
    parent environment); ``timeout`` bounds one tool call, ``startup_timeout`` starting the process
    and the MCP handshake (both in seconds).
    """

    name: str
    command: tuple[str, ...] = attrs.field(converter=tuple)
    env: Mapping[str, str] = attrs.field(factory=dict, converter=dict)
    cwd: str | None = None
    timeout: float = attrs.field(default=60.0, validator=_positive)
    startup_timeout: float = attrs.field(default=30.0, validator=_positive)

    def __attrs_post_init__(self) -> None:
        if not self.name or any(c in self.name for c in "./ "):
            raise ValueError(f"an MCP server name must be non-empty without '.', '/' or spaces: {self.name!r}")
        if not self.command or not all(isinstance(c, str) and c for c in self.command):
            raise ValueError(f"MCP server {self.name!r}: command must be a non-empty list of strings")


def servers_from_config(section: Mapping[str, Any], origin: str | None = None) -> list[MCPServer]:
    """Read ``[plugins.mcp.servers.<name>]`` tables (``section`` is the ``[plugins.mcp]`` table)."""
    where = f"{origin or 'config'} [plugins.mcp]"
    unknown = sorted(set(section) - {"servers"})
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(unknown)}")
    servers = section.get("servers", {})
    if not isinstance(servers, Mapping):
        raise ConfigError(f"{where}: servers must be a table of [plugins.mcp.servers.<name>] tables")
    found = []
    for name, raw in servers.items():
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{where}: servers.{name} must be a table")
        extra = sorted(set(raw) - _KEYS)
        if extra:
            raise ConfigError(f"{where}: servers.{name}: unknown setting(s) {', '.join(extra)}")
        command = raw.get("command")
        if isinstance(command, str):
            raise ConfigError(f"{where}: servers.{name}.command must be a list, e.g. [\"python\", \"server.py\"]")
        env = raw.get("env", {})
        if not isinstance(env, Mapping) or not all(isinstance(v, str) for v in env.values()):
            raise ConfigError(f"{where}: servers.{name}.env must be a table of strings")
        try:
            found.append(
                MCPServer(
                    name=str(name),
                    command=command or (),
                    env=env,
                    cwd=None if raw.get("cwd") is None else str(raw["cwd"]),
                    timeout=float(raw.get("timeout", 60.0)),
                    startup_timeout=float(raw.get("startup_timeout", 30.0)),
                )
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{where}: servers.{name}: {exc}") from exc
    return found
