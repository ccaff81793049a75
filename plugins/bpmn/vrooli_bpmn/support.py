"""What this version of the navigator cannot execute yet: refused at load time, naming the element."""

from __future__ import annotations

from vrooli_bpmn.model import Kind, Node, Trigger

_KINDS = {
    Kind.TRANSACTION: "transactions (cancel and compensation semantics) are not supported yet",
    Kind.AD_HOC: "ad-hoc subprocesses are not supported yet",
    Kind.COMPLEX: "complex gateways are not supported (use an inclusive gateway)",
}
_TRIGGERS = {
    Trigger.COMPENSATE: "compensation events are not supported yet",
    Trigger.CANCEL: "cancel events are not supported yet",
}


def not_supported(node: Node) -> str | None:
    """Why ``node`` cannot run, or ``None``."""
    if node.kind in _KINDS:
        return _KINDS[node.kind]
    if node.triggered_by_event and node.kind is not Kind.SUBPROCESS:
        return "only embedded subprocesses can be event subprocesses"
    for ev in node.events:
        if ev.trigger in _TRIGGERS:
            return _TRIGGERS[ev.trigger]
    if len(node.events) > 1:
        return "events with several event definitions (multiple / parallel multiple) are not supported yet"
    if node.for_compensation:
        return _TRIGGERS[Trigger.COMPENSATE]
    return None
