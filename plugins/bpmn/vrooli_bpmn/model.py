"""The parsed form of a BPMN file: what the parser produces and the navigator moves over.

Everything is resolved at load time (references to messages, signals and errors become names and
codes; expressions, scripts and timers are compiled), so moving a token never touches XML.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import attrs


class Kind(StrEnum):
    START = "startEvent"
    END = "endEvent"
    CATCH = "intermediateCatchEvent"
    THROW = "intermediateThrowEvent"
    BOUNDARY = "boundaryEvent"
    TASK = "task"
    SERVICE = "serviceTask"
    SEND = "sendTask"
    RECEIVE = "receiveTask"
    USER = "userTask"
    MANUAL = "manualTask"
    SCRIPT = "scriptTask"
    BUSINESS_RULE = "businessRuleTask"
    CALL = "callActivity"
    SUBPROCESS = "subProcess"
    TRANSACTION = "transaction"
    AD_HOC = "adHocSubProcess"
    EXCLUSIVE = "exclusiveGateway"
    PARALLEL = "parallelGateway"
    INCLUSIVE = "inclusiveGateway"
    EVENT_BASED = "eventBasedGateway"
    COMPLEX = "complexGateway"

    @property
    def is_gateway(self) -> bool:
        return self.value.endswith("Gateway")

    @property
    def is_event(self) -> bool:
        return self.value.endswith("Event")

    @property
    def is_activity(self) -> bool:
        return not (self.is_gateway or self.is_event)

    @property
    def is_container(self) -> bool:
        return self in (Kind.SUBPROCESS, Kind.TRANSACTION, Kind.AD_HOC)


class Trigger(StrEnum):
    """An event definition's kind (``None`` events have no definition)."""

    MESSAGE = "message"
    TIMER = "timer"
    SIGNAL = "signal"
    ERROR = "error"
    ESCALATION = "escalation"
    CONDITIONAL = "conditional"
    LINK = "link"
    COMPENSATE = "compensate"
    CANCEL = "cancel"
    TERMINATE = "terminate"


@attrs.frozen
class EventDef:
    trigger: Trigger
    #: Message or signal name, link name (the referenced element's name, else its id).
    name: str | None = None
    #: Error or escalation code (``None`` on a catch: catch all).
    code: str | None = None
    #: A compiled timer (``vrooli_bpmn.timers.CompiledTimer``) or condition (``CompiledExpression``).
    timer: Any = None
    condition: Any = None
    #: Compensation: the activity to compensate (``None``: every completed one in scope), and whether
    #: the throwing event waits for the handlers to finish (``waitForCompletion``).
    activity: str | None = None
    wait: bool = True
    #: Messages: the compiled correlation key (``zeebe:subscription correlationKey``), evaluated when
    #: the wait is registered; a message then matches only with the same key.
    correlation: Any = None


@attrs.frozen
class Flow:
    id: str
    source: str
    target: str
    name: str = ""
    #: A compiled condition (``CompiledExpression``) or ``None``.
    condition: Any = None
    line: int | None = None


@attrs.frozen
class Loop:
    """Standard loop or multi-instance characteristics."""

    multi: bool
    sequential: bool = False
    #: Standard loop: condition (re-run while true), maximum, test before the first run.
    condition: Any = None
    maximum: int | None = None
    test_before: bool = False
    #: Multi-instance: a cardinality expression, or a collection (an expression or variable path) with
    #: the element variable; the output collection and its element; a completion condition.
    cardinality: Any = None
    collection: Any = None
    element_variable: str | None = None
    output_collection: str | None = None
    output_element: Any = None
    completion: Any = None


@attrs.frozen
class AdHoc:
    """An ad-hoc subprocess's settings (BPMN ``ordering``, ``completionCondition``,
    ``cancelRemainingInstances``; Camunda 8's ``zeebe:adHoc activeElementsCollection``)."""

    sequential: bool = False
    #: An expression giving the ids of the inner activities to activate (``None``: every inner
    #: activity without incoming flows, in document order).
    active: Any = None
    completion: Any = None
    cancel_remaining: bool = True


@attrs.define(slots=True)
class Node:
    """A flow node: activity, event or gateway."""

    id: str
    kind: Kind
    name: str = ""
    line: int | None = None
    #: The enclosing subprocess (``None``: the process itself).
    scope: str | None = None
    incoming: list[str] = attrs.Factory(list)
    outgoing: list[str] = attrs.Factory(list)
    default: str | None = None
    events: tuple[EventDef, ...] = ()
    #: Boundary events: the activity they are attached to and whether they interrupt it (also the
    #: start event of an event subprocess: whether it interrupts its scope).
    attached_to: str | None = None
    interrupting: bool = True
    #: Activities: their boundary events; containers: the nodes directly inside and their start events.
    boundaries: list[str] = attrs.Factory(list)
    children: list[str] = attrs.Factory(list)
    starts: list[str] = attrs.Factory(list)
    #: Event subprocesses of a container (or of the process, under scope ``None``).
    triggered_by_event: bool = False
    for_compensation: bool = False
    #: Activities with a compensation boundary event: the handler activity its association names.
    compensation: str | None = None
    loop: Loop | None = None
    #: Ad-hoc subprocesses: how their inner activities are activated and when they complete.
    adhoc: AdHoc | None = None
    #: Call activities: the called process or routine id (and a version, when pinned).
    called: str | None = None
    called_version: str | None = None
    #: Script tasks: a compiled script (``CompiledScript``).
    script: Any = None
    #: Step binding read from ``vrooli:``, ``zeebe:`` and ``camunda:`` extensions: tool, kind, prompt,
    #: model, strategy, inputs/outputs mappings, form fields, assignee, candidate groups, …
    binding: dict[str, Any] = attrs.Factory(dict)
    lane: str | None = None


@attrs.define(slots=True)
class Process:
    id: str
    name: str = ""
    executable: bool = True
    line: int | None = None
    #: Dead-path elimination (``vrooli:joins="dpe"``): untaken flows send discards that joins count.
    dpe: bool = False
    nodes: dict[str, Node] = attrs.Factory(dict)
    flows: dict[str, Flow] = attrs.Factory(dict)
    #: Start events directly in the process (not in a subprocess).
    starts: list[str] = attrs.Factory(list)
    #: Event subprocesses at process level.
    event_subprocesses: list[str] = attrs.Factory(list)
    #: Link catch events by link name, per scope: (scope, name) -> node id.
    links: dict[tuple[str | None, str], str] = attrs.Factory(dict)


@attrs.define(slots=True)
class Definitions:
    id: str
    processes: dict[str, Process] = attrs.Factory(dict)
    #: The process a run starts in: the only executable one, or the one asked for.
    main: str | None = None
    #: Diagram bounds by element id (x, y, width, height), for pictures.
    shapes: dict[str, tuple[float, float, float, float]] = attrs.Factory(dict)
    edges: dict[str, list[tuple[float, float]]] = attrs.Factory(dict)
    #: Message flows of a collaboration: (source node, target node, message name).
    message_flows: list[tuple[str, str, str | None]] = attrs.Factory(list)

    def process_of(self, node_id: str) -> Process:
        for process in self.processes.values():
            if node_id in process.nodes:
                return process
        raise KeyError(node_id)
