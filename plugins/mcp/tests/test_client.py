"""The client: listing, calling, results, and every way a server can fail."""

from __future__ import annotations

import sys

import anyio
import psutil
import pytest
from vrooli_mcp import (
    MCPClient,
    MCPConnectionError,
    MCPServer,
    MCPStartError,
    MCPTimeoutError,
    MCPToolError,
    MCPUnknownToolError,
)

pytestmark = pytest.mark.anyio


async def test_lists_the_servers_tools(server):
    client = MCPClient(server)
    try:
        tools = {t.name: t for t in await client.list_tools()}
    finally:
        await client.aclose()
    assert {"add", "fail", "echo", "shout", "crash", "pid", "sleep"} <= set(tools)
    assert tools["add"].description == "Add two integers."
    assert tools["add"].inputSchema["required"] == ["a", "b"]


async def test_session_stays_open_across_calls_and_closes(server):
    client = MCPClient(server)
    first = await client.call("pid", {})
    second = await client.call("pid", {})
    assert first == second  # one process served both calls
    assert psutil.pid_exists(first["result"])
    await client.aclose()
    assert not _running(first["result"])


async def test_concurrent_calls_share_one_session(server):
    client = MCPClient(server)
    results: list[object] = []

    async def one(n: int) -> None:
        results.append(await client.call("add", {"a": n, "b": 1}))

    try:
        async with anyio.create_task_group() as tg:
            for n in range(10):
                tg.start_soon(one, n)
    finally:
        await client.aclose()
    assert sorted(r["result"] for r in results) == list(range(1, 11))


async def test_not_persistent_starts_a_process_per_call(server):
    client = MCPClient(server, persistent=False)
    first = await client.call("pid", {})
    second = await client.call("pid", {})
    assert first != second
    assert not _running(first["result"]) and not _running(second["result"])


async def test_results_are_structured_content_or_text(server):
    client = MCPClient(server)
    try:
        assert await client.call("echo", {"data": {"x": [1, 2]}, "tag": "t"}) == {"data": {"x": [1, 2]}, "tag": "t"}
        assert await client.call("shout", {"text": "hi"}) == "HI"
    finally:
        await client.aclose()


async def test_tool_error_is_typed_and_names_server_and_tool(server):
    client = MCPClient(server)
    try:
        with pytest.raises(MCPToolError) as info:
            await client.call("fail", {"message": "boom"})
        assert (info.value.server, info.value.tool) == ("calc", "fail")
        assert "'calc'" in str(info.value) and "'fail'" in str(info.value) and "boom" in str(info.value)
        assert await client.call("add", {"a": 1, "b": 1}) == {"result": 2}  # the session survives
    finally:
        await client.aclose()


async def test_unknown_tool(server):
    client = MCPClient(server)
    try:
        with pytest.raises(MCPUnknownToolError, match=r"MCP server 'calc', tool 'nope': no such tool \(available: add"):
            await client.call("nope", {})
    finally:
        await client.aclose()


async def test_command_that_does_not_exist():
    client = MCPClient(MCPServer("ghost", ["/nonexistent/mcp-server", "--flag"]))
    with pytest.raises(MCPStartError) as info:
        await client.list_tools()
    assert info.value.server == "ghost"
    assert "could not start ['/nonexistent/mcp-server', '--flag']" in str(info.value)


async def test_process_that_is_not_an_mcp_server():
    bad = MCPServer("mute", [sys.executable, "-c", "import sys; print('no MCP here', file=sys.stderr)"])
    client = MCPClient(bad)
    with pytest.raises(MCPStartError, match=r"(?s)ended before the MCP handshake.*no MCP here"):
        await client.list_tools()


async def test_handshake_timeout():
    silent = MCPServer("silent", [sys.executable, "-c", "import time; time.sleep(30)"], startup_timeout=0.5)
    client = MCPClient(silent)
    with anyio.fail_after(10):
        with pytest.raises(MCPStartError, match=r"no MCP handshake within 0\.5 s"):
            await client.list_tools()


async def test_server_that_exits_mid_call_then_restarts(server):
    client = MCPClient(server)
    try:
        before = await client.call("pid", {})
        with pytest.raises(MCPConnectionError) as info:
            await client.call("crash", {})
        assert (info.value.server, info.value.tool) == ("calc", "crash")
        assert "exited while tool 'crash' was in flight" in str(info.value)
        assert "about to crash" in str(info.value)  # the server's stderr is quoted
        after = await client.call("pid", {})  # a new process on the next call
        assert after != before
    finally:
        await client.aclose()


async def test_server_that_died_between_calls_is_restarted(server):
    client = MCPClient(server)
    try:
        first = (await client.call("pid", {}))["result"]
        psutil.Process(first).kill()
        with anyio.fail_after(5):
            while _running(first):
                await anyio.sleep(0.02)
            await anyio.sleep(0.1)  # let the transport see the end of the server's output
        second = (await client.call("pid", {}))["result"]
        assert second != first
    finally:
        await client.aclose()


async def test_call_timeout(server):
    client = MCPClient(MCPServer(server.name, server.command, timeout=0.5))
    try:
        await client.list_tools()
        with anyio.fail_after(10):
            with pytest.raises(MCPTimeoutError, match=r"MCP server 'calc', tool 'sleep': no answer within 0.5 s"):
                await client.call("sleep", {"seconds": 5})
    finally:
        await client.aclose()


def test_process_is_gone_when_the_event_loop_ends_without_aclose(server):
    client = MCPClient(server)

    async def main() -> int:
        return (await client.call("pid", {}))["result"]

    pid = anyio.run(main)
    assert not _running(pid)


def test_list_tools_sync_inside_a_running_loop(server):
    client = MCPClient(server)

    async def main() -> list[str]:
        return [t.name for t in client.list_tools_sync()]

    assert "add" in anyio.run(main)


@pytest.mark.parametrize(
    ("command", "tool", "error", "message"),
    [
        (["/nonexistent/mcp-server"], None, MCPStartError, "could not start"),
        ([sys.executable, "-c", "pass"], None, MCPStartError, "ended before the MCP handshake"),
        (None, "crash", MCPConnectionError, "exited while tool 'crash' was in flight"),
    ],
)
async def test_errors_without_a_persistent_session(server, command, tool, error, message):
    client = MCPClient(MCPServer("calc", command or server.command), persistent=False)
    with pytest.raises(error, match=message):
        await (client.call(tool, {}) if tool else client.list_tools())


def _running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
