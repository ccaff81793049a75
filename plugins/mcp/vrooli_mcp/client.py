"""One MCP server as seen by vrooli: start it on first use, keep its session open, call its tools.

The ``mcp`` client is built from async context managers (``stdio_client``, ``ClientSession``) whose
task groups must be entered and left by one task. So on asyncio a *connection* is an owner task that
enters both, signals ready, and waits to be told to close; any task on the same event loop then sends
requests through the session. One connection per event loop (a session cannot cross loops). The owner
task is not part of any task group the caller owns (the kernel has no per-engine resource hook), so it
is closed by :meth:`MCPClient.aclose`, or, failing that, cancelled by ``asyncio.run`` / the anyio runner
when the loop ends, which closes the server's stdin and terminates it as ``stdio_client`` does.
Other event loop libraries (trio) get a fresh process per call.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import IO, Any, TypeVar

import anyio
import sniffio
from mcp import ClientSession, McpError, StdioServerParameters, types
from mcp.client.stdio import stdio_client

from vrooli_mcp.errors import (
    MCPConnectionError,
    MCPError,
    MCPStartError,
    MCPTimeoutError,
    MCPToolError,
    MCPUnknownToolError,
)
from vrooli_mcp.results import result_output
from vrooli_mcp.server import MCPServer

__all__ = ["MCPClient"]

T = TypeVar("T")
_LOST = (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream, BrokenPipeError)


class MCPClient:
    """Talks to one :class:`MCPServer`. ``persistent=False`` starts a process for every request."""

    def __init__(self, server: MCPServer, *, persistent: bool = True) -> None:
        self.server = server
        self.persistent = persistent
        self._tools: dict[str, types.Tool] | None = None
        self._connections: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Connection] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"<MCPClient {self.server.name!r}: {' '.join(self.server.command)}>"

    # -- requests -------------------------------------------------------------------------------

    async def list_tools(self, *, refresh: bool = False) -> list[types.Tool]:
        """The server's tools (every page), remembered after the first listing."""
        if self._tools is None or refresh:

            async def op(session: ClientSession) -> list[types.Tool]:
                found: list[types.Tool] = []
                cursor: str | None = None
                while True:
                    page = await session.list_tools(cursor=cursor)
                    found += page.tools
                    cursor = page.nextCursor
                    if not cursor:
                        return found

            self._tools = {t.name: t for t in await self._request(None, op)}
        return list(self._tools.values())

    async def call_tool(self, tool: str, arguments: Mapping[str, Any]) -> types.CallToolResult:
        """Call ``tool`` and return the raw MCP result (``isError`` included)."""
        known = {t.name for t in await self.list_tools()}
        if tool not in known:
            raise MCPUnknownToolError(self.server.name, tool, f"no such tool (available: {', '.join(sorted(known)) or 'none'})")

        async def op(session: ClientSession) -> types.CallToolResult:
            return await session.call_tool(tool, dict(arguments))

        return await self._request(tool, op)

    async def call(self, tool: str, arguments: Mapping[str, Any]) -> Any:
        """Call ``tool``; its JSON-compatible output, or :class:`MCPToolError` when it reports an error."""
        result = await self.call_tool(tool, arguments)
        if result.isError:
            raise MCPToolError(self.server.name, tool, _error_text(result))
        return result_output(result)

    def list_tools_sync(self) -> list[types.Tool]:
        """:meth:`list_tools` from synchronous code, even code running inside an event loop: a worker
        thread runs its own loop and a short-lived server process. Blocks the caller meanwhile."""
        if self._tools is None:
            box: list[Any] = []

            async def listing() -> None:
                one_off = MCPClient(self.server, persistent=False)
                box.append(await one_off.list_tools())

            def work() -> None:
                try:
                    anyio.run(listing)
                except BaseException as exc:  # handed to the calling thread, which re-raises it
                    box.append(exc)

            thread = threading.Thread(target=work, name=f"vrooli-mcp-list-{self.server.name}", daemon=True)
            thread.start()
            thread.join()
            if isinstance(box[0], BaseException):
                raise box[0]
            self._tools = {t.name: t for t in box[0]}
        return list(self._tools.values())

    async def aclose(self) -> None:
        """Stop the server process of the current event loop's connection, if there is one."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        conn = self._connections.pop(loop, None)
        if conn is not None:
            await conn.close()

    # -- plumbing -------------------------------------------------------------------------------

    async def _request(self, tool: str | None, op: Callable[[ClientSession], Awaitable[T]]) -> T:
        if not self.persistent or sniffio.current_async_library() != "asyncio":
            conn = _Connection(self.server)
            try:
                async with conn.open() as session:
                    return await self._guard(tool, op, session, conn)
            except BaseExceptionGroup as group:  # raised through the transport's task groups
                raise _mcp_error(self.server, group) from group
            finally:
                conn.errlog.close()
        conn = await self._connection()
        assert conn.session is not None
        try:
            return await self._guard(tool, op, conn.session, conn)
        except MCPConnectionError:
            self._connections.pop(asyncio.get_running_loop(), None)
            await conn.close()
            raise

    async def _connection(self) -> _Connection:
        loop = asyncio.get_running_loop()
        conn = self._connections.get(loop)
        if conn is not None and not conn.alive():
            self._connections.pop(loop, None)
            await conn.close()
            conn = None
        if conn is None:
            conn = self._connections[loop] = _Connection(self.server)
            conn.task = loop.create_task(conn.own(), name=f"vrooli-mcp-{self.server.name}")
        await conn.ready.wait()
        if conn.session is None:
            self._connections.pop(loop, None)
            assert conn.error is not None
            raise conn.error
        return conn

    async def _guard(
        self, tool: str | None, op: Callable[[ClientSession], Awaitable[T]], session: ClientSession, conn: _Connection
    ) -> T:
        what = f"tool {tool!r}" if tool else "listing tools"
        try:
            with anyio.fail_after(self.server.timeout):
                return await op(session)
        except TimeoutError:
            raise MCPTimeoutError(self.server.name, tool, f"no answer within {self.server.timeout:g} s") from None
        except McpError as exc:
            if exc.error.code == types.CONNECTION_CLOSED:
                raise MCPConnectionError(self.server.name, tool, f"the server exited while {what} was in flight{conn.stderr_tail()}") from exc
            raise MCPError(self.server.name, tool, f"protocol error {exc.error.code}: {exc.error.message}") from exc
        except _LOST as exc:
            raise MCPConnectionError(self.server.name, tool, f"the connection was lost ({type(exc).__name__}){conn.stderr_tail()}") from exc


class _Connection:
    """One server process with an initialised session; :meth:`own` is the task that owns both."""

    def __init__(self, server: MCPServer) -> None:
        self.server = server
        self.session: ClientSession | None = None
        self.error: MCPError | None = None
        self.task: asyncio.Task[None] | None = None
        # The server's stderr, kept so that an error can quote what the server said before it died.
        self.errlog: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")
        self._read: Any = None
        self.ready = anyio.Event()
        self.done = anyio.Event()
        self._closing = anyio.Event()

    @asynccontextmanager
    async def open(self) -> AsyncIterator[ClientSession]:
        """Start the process and complete the MCP handshake (within ``startup_timeout``)."""
        server = self.server
        params = StdioServerParameters(
            command=server.command[0], args=list(server.command[1:]), env=dict(server.env) or None, cwd=server.cwd
        )
        async with AsyncExitStack() as stack:
            try:
                read, write = await stack.enter_async_context(stdio_client(params, errlog=self.errlog))
            except OSError as exc:
                raise MCPStartError(server.name, None, f"could not start {list(server.command)}: {exc}") from exc
            self._read = read
            session = await stack.enter_async_context(ClientSession(read, write))
            try:
                with anyio.fail_after(server.startup_timeout):
                    await session.initialize()
            except TimeoutError:
                raise MCPStartError(server.name, None, f"no MCP handshake within {server.startup_timeout:g} s{self.stderr_tail()}") from None
            except (McpError, *_LOST) as exc:
                raise MCPStartError(server.name, None, f"the process {list(server.command)} ended before the MCP handshake{self.stderr_tail()}") from exc
            yield session

    async def own(self) -> None:
        try:
            async with self.open() as session:
                self.session = session
                self.ready.set()
                await self._closing.wait()
        except MCPStartError as exc:
            self.error = exc
        except Exception as exc:  # plugin boundary: the server's transport failed; reported to waiting callers
            self.error = _mcp_error(self.server, exc)
        finally:
            self.session = None
            self.ready.set()
            self.done.set()
            self.errlog.close()

    def alive(self) -> bool:
        """False once the owner ended or the server closed its stdout (it exited between requests)."""
        if self.done.is_set():
            return False
        return self._read is None or self._read.statistics().open_send_streams > 0

    async def close(self) -> None:
        self._closing.set()
        if self.task is not None and not self.task.done():
            await self.done.wait()

    def stderr_tail(self, limit: int = 2000) -> str:
        try:
            self.errlog.flush()
            self.errlog.seek(0)
            text = self.errlog.read()
            self.errlog.seek(0, 2)
        except (OSError, ValueError):  # closed already: nothing more to quote
            return ""
        text = text.strip()
        return f"; its stderr ends with:\n{text[-limit:]}" if text else ""


def _mcp_error(server: MCPServer, exc: BaseException) -> MCPError:
    for leaf in _leaves(exc):
        if isinstance(leaf, MCPError):
            return leaf
    return MCPStartError(server.name, None, f"{type(exc).__name__}: {exc}")


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in _leaves(sub)]
    return [exc]


def _error_text(result: types.CallToolResult) -> str:
    texts = [c.text for c in result.content if isinstance(c, types.TextContent)]
    return "\n".join(texts) or "the tool reported an error without a message"
