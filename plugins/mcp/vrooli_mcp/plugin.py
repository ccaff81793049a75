"""The vrooli-mcp plugin: the tools of the MCP servers named in the project configuration.

```toml
[plugins.mcp.servers.files]          # vrooli.toml ([tool.vrooli.plugins.mcp.servers.files] in pyproject)
command = ["python", "server.py"]
env = {ROOT = "/data"}
cwd = "servers"
timeout = 30                          # seconds per tool call
```

Tools are listed when the host first collects tools (``host.tools()``, which ``Engine`` does when it
is made): each configured server is started in a worker thread, listed, and stopped. Nothing is
imported or started at import time.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from vrooli_core.plugins import hookimpl

if TYPE_CHECKING:
    from vrooli_core.config import Config
    from vrooli_mcp.server import MCPServer
    from vrooli_mcp.toolset import MCPToolset

# The configuration hook carries no host, so the servers it names are per process (the configuration
# is too). Each tool collection gets its own toolset, so hosts never share a connection.
_servers: list[MCPServer] = []
_toolsets: weakref.WeakSet[MCPToolset] = weakref.WeakSet()


@hookimpl
def vrooli_configure(config: Config) -> None:
    from vrooli_mcp.server import servers_from_config

    _servers[:] = servers_from_config(config.plugin("mcp"), config.origin)


@hookimpl
def vrooli_register_tools() -> list[Any]:
    if not _servers:
        return []
    from vrooli_mcp.toolset import MCPToolset

    toolset = MCPToolset(_servers)
    _toolsets.add(toolset)
    return toolset.tool_specs_sync()


@hookimpl
def vrooli_engine_resources(engine: Any) -> Any:
    """The configured servers' sessions end when the engine closes."""
    if not _servers:
        return None
    from vrooli_mcp.toolset import closing_all

    return closing_all()


async def aclose() -> None:
    """Stop every server process this plugin started on the current event loop."""
    for toolset in list(_toolsets):
        await toolset.aclose()
