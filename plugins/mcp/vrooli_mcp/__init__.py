"""vrooli-mcp: the tools of Model Context Protocol servers (stdio) as vrooli tools.

Importing this package imports nothing heavy; the ``mcp`` client is imported when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vrooli_mcp.client import MCPClient
    from vrooli_mcp.errors import (
        MCPConnectionError,
        MCPError,
        MCPStartError,
        MCPTimeoutError,
        MCPToolError,
        MCPUnknownToolError,
    )
    from vrooli_mcp.server import MCPServer
    from vrooli_mcp.toolset import MCPToolset

__version__ = "0.1.0"
__all__ = [
    "MCPClient",
    "MCPConnectionError",
    "MCPError",
    "MCPServer",
    "MCPStartError",
    "MCPTimeoutError",
    "MCPToolError",
    "MCPToolset",
    "MCPUnknownToolError",
]

_WHERE = {"MCPClient": "client", "MCPServer": "server", "MCPToolset": "toolset"}


def __getattr__(name: str) -> Any:
    if name in __all__:
        import importlib

        module = importlib.import_module(f"vrooli_mcp.{_WHERE.get(name, 'errors')}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
