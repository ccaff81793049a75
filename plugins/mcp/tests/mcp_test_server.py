"""A small MCP server (stdio) that the tests start as a child process."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from mcp.server.fastmcp import FastMCP
from mcp.types import ToolAnnotations

server = FastMCP("vrooli-test", log_level="WARNING")


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def fail(message: str) -> str:
    """Always raise, with ``message``."""
    raise ValueError(message)


@server.tool()
def echo(data: dict[str, Any], tag: str = "") -> dict[str, Any]:
    """Return ``data`` and ``tag`` as structured content."""
    return {"data": data, "tag": tag}


@server.tool(structured_output=False)
def shout(text: str) -> str:
    """Return the text in upper case, as plain text content (no output schema)."""
    return text.upper()


@server.tool()
def crash() -> str:
    """Exit the server process in the middle of the call."""
    print("about to crash", file=sys.stderr, flush=True)
    os._exit(3)


@server.tool()
def pid() -> int:
    """The server's process id."""
    return os.getpid()


@server.tool()
def sleep(seconds: float) -> str:
    """Sleep, blocking the server."""
    time.sleep(seconds)
    return "slept"


if __name__ == "__main__":
    server.run("stdio")
