"""MCP servers' tools as vrooli :class:`~vrooli_core.execution.tools.ToolSpec` objects."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Iterable
from typing import Any

import anyio
from mcp import types

from vrooli_core.execution.tools import ToolSpec
from vrooli_core.plugins import hookimpl
from vrooli_mcp.client import MCPClient
from vrooli_mcp.server import MCPServer

__all__ = ["SEPARATOR", "MCPToolset", "tool_spec"]

#: Between the server name and the tool name in a vrooli tool name. Not ``.``: model APIs restrict
#: function names to ``[A-Za-z0-9_-]`` (OpenAI, Anthropic), and these tools are offered to models.
SEPARATOR = "__"


def tool_spec(client: MCPClient, tool: types.Tool) -> ToolSpec:
    """The vrooli tool ``<server>__<tool>`` that calls ``tool`` on ``client``'s server. Its
    parameters are the server's input schema (checked before the call); it has side effects unless
    the server annotates it ``readOnlyHint``."""
    name = tool.name

    async def call_mcp_tool(**arguments: Any) -> Any:
        return await client.call(name, arguments)

    call_mcp_tool.__qualname__ = f"MCPClient({client.server.name!r}).{name}"
    read_only = bool(tool.annotations is not None and tool.annotations.readOnlyHint)
    return ToolSpec(
        name=f"{client.server.name}{SEPARATOR}{name}",
        fn=call_mcp_tool,
        description=tool.description or (tool.annotations.title if tool.annotations else None) or tool.title or "",
        parameters=tool.inputSchema,
        returns=tool.outputSchema or {},
        side_effects=not read_only,
    )


class MCPToolset:
    """The tools of several MCP servers; also a vrooli plugin (``host.register(toolset, "mcp")``)."""

    def __init__(self, servers: Iterable[MCPServer], *, persistent: bool = True) -> None:
        self.clients: dict[str, MCPClient] = {}
        for server in servers:
            if server.name in self.clients:
                raise ValueError(f"two MCP servers are named {server.name!r}")
            self.clients[server.name] = MCPClient(server, persistent=persistent)

    def __repr__(self) -> str:
        return f"<MCPToolset {', '.join(self.clients)}>"

    async def tool_specs(self) -> list[ToolSpec]:
        """List every server's tools (servers concurrently) and return them as tool specs."""
        listed: dict[str, list[types.Tool]] = {}

        async def one(client: MCPClient) -> None:
            listed[client.server.name] = await client.list_tools()

        async with anyio.create_task_group() as tg:
            for client in self.clients.values():
                tg.start_soon(one, client)
        return [tool_spec(c, t) for name, c in self.clients.items() for t in listed[name]]

    def tool_specs_sync(self) -> list[ToolSpec]:
        """:meth:`tool_specs` from synchronous code (a hook), one worker thread per server: each
        server is started, listed and stopped, so this blocks for about one server start."""
        results: dict[str, list[types.Tool] | BaseException] = {}

        def one(client: MCPClient) -> None:
            try:
                results[client.server.name] = client.list_tools_sync()
            except BaseException as exc:  # re-raised in the calling thread below
                results[client.server.name] = exc

        threads = [threading.Thread(target=one, args=(c,), daemon=True) for c in self.clients.values()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        specs = []
        for name, client in self.clients.items():
            found = results[name]
            if isinstance(found, BaseException):
                raise found
            specs += [tool_spec(client, t) for t in found]
        return specs

    async def aclose(self) -> None:
        """Stop the server processes started on the current event loop."""
        for client in self.clients.values():
            await client.aclose()

    @hookimpl
    def vrooli_register_tools(self) -> list[ToolSpec]:
        return self.tool_specs_sync()

    @hookimpl
    def vrooli_engine_resources(self, engine: Any) -> Any:
        """The server sessions end when the engine closes (each engine's own sessions)."""
        return _closing(self)


@contextlib.asynccontextmanager
async def _closing(toolset: MCPToolset) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await toolset.aclose()


@contextlib.asynccontextmanager
async def closing_all() -> AsyncIterator[None]:
    """Every toolset of the configured servers closes its sessions on exit (``plugin.aclose``)."""
    from vrooli_mcp import plugin

    try:
        yield
    finally:
        await plugin.aclose()
