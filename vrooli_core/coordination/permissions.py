"""Agent permissions as a safety check: a run an agent does for a swarm carries, in its labels, the
agent's name and the tools it was granted; calling any other tool is denied before the call (a
``safety.checked`` event records it, the step fails, and the swarm goes on with the failure).

Labels (set by whoever starts the agent's run — the swarm):

``vrooli.agent``         the agent's name; runs without it are not an agent's, and pass
``vrooli.agent.tools``   the granted tool names, comma-separated (routines an agent may call as
                         tools are tools by their tool name)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

from vrooli_core.execution.safety import ALLOW, Deny, SafetyCheck, SafetyPoint, SafetyRequest, SafetyResult

__all__ = ["AGENT", "AGENT_TOOLS", "AgentPermissions", "agent_labels"]

AGENT = "vrooli.agent"
AGENT_TOOLS = "vrooli.agent.tools"


def agent_labels(agent: str, tools: Iterable[str]) -> dict[str, str]:
    """The labels of a run done by ``agent`` with ``tools`` granted."""
    names = sorted(set(tools))
    bad = [t for t in names if "," in t]
    if bad:
        raise ValueError(f"tool names cannot hold a comma: {bad}")
    return {AGENT: agent, AGENT_TOOLS: ",".join(names)}


class AgentPermissions(SafetyCheck):
    """Denies an agent's call of a tool it was not granted (see the module)."""

    name: ClassVar[str] = "agent-permissions"
    points: ClassVar[frozenset[SafetyPoint]] = frozenset({SafetyPoint.BEFORE_TOOL_CALL})

    async def check(self, request: SafetyRequest) -> SafetyResult:
        agent = request.labels.get(AGENT)
        if agent is None:
            return ALLOW
        granted = _granted(request.labels)
        if request.tool is None:
            return Deny(f"agent {agent!r}: a tool call that does not say which tool it is cannot be checked")
        if request.tool not in granted:
            allowed = ", ".join(sorted(granted)) or "none"
            return Deny(f"agent {agent!r} was not granted tool {request.tool!r} (granted: {allowed})")
        return ALLOW


def _granted(labels: Mapping[str, str]) -> set[str]:
    return {t for t in labels.get(AGENT_TOOLS, "").split(",") if t}
