"""What this version of the navigator cannot execute yet: refused at load time, naming the element."""

from __future__ import annotations

from vrooli_bpmn.model import Kind, Node

_KINDS = {
    Kind.COMPLEX: "complex gateways are not supported (use an inclusive gateway)",
}


def not_supported(node: Node) -> str | None:
    """Why ``node`` cannot run, or ``None``."""
    if node.kind in _KINDS:
        return _KINDS[node.kind]
    if node.triggered_by_event and node.kind is not Kind.SUBPROCESS:
        return "only embedded subprocesses can be event subprocesses"
    if len(node.events) > 1:
        return "events with several event definitions (multiple / parallel multiple) are not supported yet"
    return None
