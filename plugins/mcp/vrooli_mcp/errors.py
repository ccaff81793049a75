"""Errors of the MCP plugin: each names the server and, when there is one, the tool."""

from __future__ import annotations

from vrooli_core.errors import VrooliError

__all__ = [
    "MCPConnectionError",
    "MCPError",
    "MCPStartError",
    "MCPTimeoutError",
    "MCPToolError",
    "MCPUnknownToolError",
]


class MCPError(VrooliError):
    """Something went wrong talking to an MCP server. ``code`` becomes a failed step's error code."""

    code = "mcp_error"

    def __init__(self, server: str, tool: str | None, message: str) -> None:
        where = f"MCP server {server!r}" + (f", tool {tool!r}" if tool else "")
        super().__init__(f"{where}: {message}")
        self.server = server
        self.tool = tool
        self.detail = message


class MCPStartError(MCPError):
    """The server's command could not be started, or it did not complete the MCP handshake."""

    code = "mcp_start_failed"


class MCPConnectionError(MCPError):
    """The server went away (exited, crashed, closed its output) while a request was in flight."""

    code = "mcp_connection_lost"


class MCPTimeoutError(MCPError, TimeoutError):
    """The server did not answer within the configured time."""

    code = "mcp_timeout"


class MCPUnknownToolError(MCPError, LookupError):
    """The server has no tool of that name."""

    code = "mcp_unknown_tool"


class MCPToolError(MCPError):
    """The tool ran and reported an error (a result with ``isError``)."""

    code = "mcp_tool_error"
