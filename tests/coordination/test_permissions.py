"""Agent permissions (``vrooli_core.coordination.permissions``): an agent's run may call only the tools
it was granted; a denial is recorded and fails the step, and runs that are no agent's pass."""

from __future__ import annotations

import pytest

from vrooli_core import Engine, tool
from vrooli_core.coordination.permissions import AGENT, AgentPermissions, agent_labels
from vrooli_core.execution.safety import ALLOW, Deny, SafetyPoint, SafetyRequest
from vrooli_core.model import RoutineSource, RunStatus
from vrooli_core.plugins import hookimpl

pytestmark = pytest.mark.anyio


@tool
def lookup(key: str) -> str:
    return key.upper()


@tool
def delete_everything() -> str:
    return "gone"


class Tools:
    @hookimpl
    def vrooli_register_tools(self) -> list:
        return [lookup, delete_everything]


FLOW = RoutineSource(
    """
id = "agent-task"
start = "read"
[steps.read]
kind = "tool"
tool = "lookup"
args = {key = "a"}
next = "wipe"
[steps.wipe]
kind = "tool"
tool = "delete_everything"
""",
    "task.flow.toml",
)


async def test_an_agent_calling_a_tool_it_was_not_granted_is_denied_and_recorded(host, store):
    host.register(Tools(), "tools")
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(FLOW, labels=agent_labels("analyst", ["lookup"]))
        history = await engine.history(run.id)
        # The same routine outside any agent's run is not checked.
        free = await engine.run(FLOW)
    assert run.status is RunStatus.FAILED and run.error.element == "wipe"
    assert "agent 'analyst' was not granted tool 'delete_everything' (granted: lookup)" in run.error.message
    [denied] = [e.payload for e in history if e.type == "safety.checked"]
    assert (denied.check, denied.action, denied.step) == ("agent-permissions", "deny", "wipe")
    assert free.status is RunStatus.COMPLETED


async def test_the_check_itself():
    check = AgentPermissions()
    labels = agent_labels("analyst", ["lookup", "search"])
    ask = lambda tool, labels=labels: check.check(SafetyRequest(SafetyPoint.BEFORE_TOOL_CALL, "r", {}, labels=labels, tool=tool))  # noqa: E731
    assert await ask("lookup") is ALLOW
    assert isinstance(await ask("wipe"), Deny)
    assert isinstance(await ask(None), Deny)  # a call that does not say which tool: not allowed for agents
    assert await ask("wipe", {}) is ALLOW  # not an agent's run
    assert isinstance(await ask("lookup", {AGENT: "nobody"}), Deny)  # an agent granted nothing
    with pytest.raises(ValueError, match="comma"):
        agent_labels("a", ["x,y"])


PARENT = RoutineSource(
    """
id = "parent"
start = "call"
[steps.call]
kind = "subroutine"
routine = "child"
""",
    "parent.flow.toml",
)
CHILD = RoutineSource(FLOW.text.replace('id = "agent-task"', 'id = "child"'), "child.flow.toml")


async def test_an_agent_starting_a_routine_it_was_not_granted_is_denied_and_grants_hold_in_subroutines(host, store):
    host.register(Tools(), "tools")
    async with Engine.open(store, host=host) as engine:
        await engine.load(CHILD)
        denied = await engine.run(PARENT, labels=agent_labels("analyst", ["lookup"], routines=["other"]))
        granted = await engine.run(PARENT, labels=agent_labels("analyst", ["lookup"], routines=["child"]))
        [child] = await engine.list_runs(parent_run_id=granted.id)
        unrestricted = await engine.run(PARENT, labels=agent_labels("analyst", ["lookup", "delete_everything"]))
    assert denied.status is RunStatus.FAILED and denied.error.code == "safety_denied" and denied.error.element == "call"
    assert "agent 'analyst' was not granted routine 'child' (granted: other)" in denied.error.message
    # the child run inherits the agent's labels: its tool grants hold there too
    assert granted.status is RunStatus.FAILED and child.status is RunStatus.FAILED
    assert "was not granted tool 'delete_everything'" in child.error.message
    assert unrestricted.status is RunStatus.COMPLETED  # no routine grants given: subroutines not restricted
