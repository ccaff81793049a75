"""MCP tools as vrooli ToolSpecs, registered with a host, and run by the engine in a flow."""

from __future__ import annotations

import psutil
import pytest
from vrooli_mcp import MCPServer, MCPToolError, MCPToolset

from vrooli_core import Engine
from vrooli_core.config import Config
from vrooli_core.errors import ConfigError, ToolInputError
from vrooli_core.model import RoutineSource, RunStatus

pytestmark = pytest.mark.anyio


async def test_tool_specs_carry_name_schema_description_and_side_effects(server):
    toolset = MCPToolset([server])
    specs = {s.name: s for s in await toolset.tool_specs()}
    await toolset.aclose()
    add = specs["calc__add"]
    assert add.description == "Add two integers."
    assert add.parameters["properties"].keys() == {"a", "b"}
    assert add.side_effects is False  # annotated readOnlyHint
    assert specs["calc__echo"].side_effects is True


async def test_call_through_toolspec(server):
    toolset = MCPToolset([server])
    try:
        specs = {s.name: s for s in await toolset.tool_specs()}
        assert await specs["calc__add"].call({"a": 2, "b": 40}) == {"result": 42}
        with pytest.raises(MCPToolError, match="boom"):
            await specs["calc__fail"].call({"message": "boom"})
    finally:
        await toolset.aclose()


async def test_invalid_arguments_are_refused_before_the_call(server):
    toolset = MCPToolset([server])
    specs = {s.name: s for s in await toolset.tool_specs()}
    await toolset.aclose()
    client = toolset.clients["calc"]
    with pytest.raises(ToolInputError, match=r"tool 'calc__add' got invalid arguments: .*'two' is not of type 'integer'"):
        await specs["calc__add"].call({"a": 1, "b": "two"})
    assert not client._connections  # nothing was started: the call never reached the server


def test_registered_with_a_host_lists_in_a_worker_thread(host, server):
    host.register(MCPToolset([server]), "mcp")
    tools = host.tools()
    assert {"calc__add", "calc__echo"} <= set(tools)
    assert tools.owners["calc__add"] == "mcp"


def test_a_broken_server_is_reported_as_a_plugin_failure(host):
    host.register(MCPToolset([MCPServer("ghost", ["/nonexistent/server"])]), "mcp")
    assert "ghost" not in str(list(host.tools()))
    (failure,) = host.failures()
    assert failure.name == "mcp" and "MCP server 'ghost': could not start" in failure.error


def test_servers_from_the_project_configuration(host, server, monkeypatch):
    import vrooli_mcp.plugin

    monkeypatch.setattr(vrooli_mcp.plugin, "_servers", [])
    host.register(vrooli_mcp.plugin, "mcp")
    table = {"servers": {"files": {"command": list(server.command), "env": {"X": "1"}, "timeout": 5}}}
    host.configure(Config.from_mapping({"plugins": {"mcp": table}}))
    assert vrooli_mcp.plugin._servers == [MCPServer("files", server.command, env={"X": "1"}, timeout=5.0)]
    assert "files__add" in host.tools()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"servers": {"a": {"command": "python server.py"}}}, "command must be a list"),
        ({"servers": {"a": {"command": ["x"], "retries": 3}}}, "unknown setting(s) retries"),
        ({"servers": {"a": {"command": ["x"], "timeout": 0}}}, "timeout must be a positive number"),
        ({"servers": {"a": {}}}, "command must be a non-empty list"),
        ({"server": {}}, "unknown setting(s) server"),
    ],
)
def test_bad_configuration(table, message, monkeypatch):
    import vrooli_mcp.plugin

    monkeypatch.setattr(vrooli_mcp.plugin, "_servers", [])
    with pytest.raises(ConfigError) as info:
        vrooli_mcp.plugin.vrooli_configure(Config.from_mapping({"plugins": {"mcp": table}}))
    assert message in str(info.value)


FLOW = """
id = "mcp-flow"
start = "add"
[steps.add]
kind = "tool"
tool = "calc__add"
in = {a = "x", b = "y"}
out = {total = "result"}
next = "echo"
[steps.echo]
kind = "tool"
tool = "calc__echo"
in = {data = "inputs_seen"}
args = {tag = "done"}
out = {echoed = "tag"}
"""


async def test_engine_runs_a_flow_whose_tool_steps_call_mcp_tools(host, store, server):
    toolset = MCPToolset([server])
    host.register(toolset, "mcp")
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(RoutineSource(FLOW, format="flow"), {"x": 2, "y": 3, "inputs_seen": {"k": 1}})
        bad = await engine.run(RoutineSource(FLOW, format="flow"), {"x": 2, "y": "three", "inputs_seen": {}})
        assert psutil.Process().children(recursive=True)  # the server runs while the engine is open
    # The session ends with the engine (vrooli_engine_resources): no server process is left.
    assert psutil.Process().children(recursive=True) == []
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.outputs["total"] == 5 and run.outputs["echoed"] == "done"
    assert bad.status is RunStatus.FAILED and bad.error.code == "ToolInputError"


async def test_engine_step_fails_with_the_mcp_error_code(host, store, server):
    toolset = MCPToolset([server])
    host.register(toolset, "mcp")
    text = 'id = "f"\nstart = "f"\n[steps.f]\nkind = "tool"\ntool = "calc__fail"\nargs = {message = "no way"}\n'
    try:
        async with Engine.open(store, host=host) as engine:
            run = await engine.run(RoutineSource(text, format="flow"))
    finally:
        await toolset.aclose()
    assert run.status is RunStatus.FAILED
    assert run.error.code == "mcp_tool_error" and "tool 'fail'" in run.error.message and "no way" in run.error.message
