"""Agent permissions as a safety check: a run an agent does for a swarm carries, in its labels, the
agent's name and the tools it was granted; calling any other tool is denied before the call (a
``safety.checked`` event records it, the step fails, and the swarm goes on with the failure).

Labels (set by whoever starts the agent's run — the swarm):

``vrooli.agent``         the agent's name; runs without it are not an agent's, and pass
``vrooli.agent.tools``   the granted tool names, comma-separated (routines an agent may call as
                         tools are tools by their tool name)
``vrooli.agent.routines`` the routines the agent may start as subroutines (call activities),
                         comma-separated; without the label, subroutines are not restricted

Child runs inherit their parent's labels, so the grants hold inside subroutines too. A subroutine
step of a routine the agent was not granted fails before its child run is created
(``routine_denied``; the engine asks it, code ``safety_denied``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

from vrooli_core.execution.safety import ALLOW, Deny, SafetyCheck, SafetyPoint, SafetyRequest, SafetyResult

__all__ = ["AGENT", "AGENT_ROUTINES", "AGENT_TOOLS", "AgentPermissions", "agent_labels", "routine_denied"]

AGENT = "vrooli.agent"
AGENT_TOOLS = "vrooli.agent.tools"
AGENT_ROUTINES = "vrooli.agent.routines"


def agent_labels(agent: str, tools: Iterable[str], routines: Iterable[str] | None = None) -> dict[str, str]:
    """The labels of a run done by ``agent`` with ``tools`` (and, if given, ``routines``) granted."""
    labels = {AGENT: agent, AGENT_TOOLS: _joined("tool", tools)}
    if routines is not None:
        labels[AGENT_ROUTINES] = _joined("routine", routines)
    return labels


def _joined(what: str, names: Iterable[str]) -> str:
    found = sorted(set(names))
    bad = [t for t in found if "," in t]
    if bad:
        raise ValueError(f"{what} names cannot hold a comma: {bad}")
    return ",".join(found)


def routine_denied(labels: Mapping[str, str], routine: str) -> str | None:
    """Why an agent's run may not start ``routine`` as a subroutine, or ``None`` when it may."""
    agent = labels.get(AGENT)
    if agent is None or AGENT_ROUTINES not in labels:
        return None
    granted = {r for r in labels[AGENT_ROUTINES].split(",") if r}
    if routine in granted:
        return None
    return f"agent {agent!r} was not granted routine {routine!r} (granted: {', '.join(sorted(granted)) or 'none'})"


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
