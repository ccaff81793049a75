"""BPMN XML → :class:`~vrooli_bpmn.model.Definitions`, iteratively (a 100,000-node chain parses).

Every problem is collected with its element id and line and reported together; an element the
navigator cannot execute is a problem in a process that can run, and a warning in one that cannot.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from vrooli_bpmn.bindings import read_binding
from vrooli_bpmn.model import AdHoc, Definitions, EventDef, Flow, Kind, Loop, Node, Process, Trigger
from vrooli_bpmn.support import not_supported
from vrooli_bpmn.xml import (
    BPMN,
    BPMNDI,
    CAMUNDA,
    DC,
    DI,
    VROOLI,
    ZEEBE,
    bpmn_children,
    local,
    namespace,
    parse_xml,
    text_of,
)
from vrooli_core.errors import RoutineError
from vrooli_core.model import RoutineSource, RoutineWarning

_KINDS = {k.value: k for k in Kind}
_TRIGGERS = {f"{t.value}EventDefinition": t for t in Trigger}
#: Elements with no execution meaning of their own (data and annotations are read where they matter).
_PASSIVE = {
    "documentation", "extensionElements", "textAnnotation", "association", "group", "category",
    "dataObject", "dataObjectReference", "dataStoreReference", "property", "ioSpecification",
    "laneSet", "incoming", "outgoing", "dataInputAssociation", "dataOutputAssociation",
    "standardLoopCharacteristics", "multiInstanceLoopCharacteristics", "potentialOwner",
    "humanPerformer", "performer", "resourceRole", "script", "conditionExpression", "completionCondition",
    "auditing", "monitoring", "rendering",
}
_TOP_PASSIVE = {
    "documentation", "extensionElements", "itemDefinition", "interface", "dataStore", "resource",
    "category", "import", "relationship", "BPMNDiagram", "correlationProperty", "eventDefinition",
    "partnerRole", "partnerEntity", "globalTask", "globalUserTask", "globalManualTask", "globalScriptTask",
    "globalBusinessRuleTask", "endPoint", "conversation", "choreography",
}


class Parser:
    def __init__(
        self, source: RoutineSource, *, test_mode: bool = False, lenient: bool = False,
        script_languages: Mapping[str, Callable[[str], str]] | None = None,
    ) -> None:
        """``lenient``: every problem becomes a warning (reading a file to draw or inspect it, not to run it).
        ``script_languages``: script formats (lower case) translated to the Python script subset."""
        self.source = source
        self.script_languages = dict(script_languages or {})
        self.test_mode = test_mode
        self.lenient = lenient
        #: (process id or None for the file, problem)
        self.problems: list[tuple[str | None, RoutineError]] = []
        self.warnings: list[RoutineWarning] = []
        self.refs: dict[str, tuple[str, Any]] = {}
        self.ids: dict[str, int | None] = {}
        #: message id -> (correlation key expression, line)
        self.correlations: dict[str, tuple[str, int | None]] = {}
        self.lanes: dict[str, str] = {}

    # -- entry ------------------------------------------------------------------------------------

    def parse(self) -> tuple[Definitions, list[RoutineWarning]]:
        root = parse_xml(self.source)
        defs = Definitions(id=root.get("id") or "definitions")
        # The file's default language for expressions without their own (BPMN's default is XPath).
        self.expression_language = root.get("expressionLanguage")
        self._index_ids(root)
        self._read_refs(root)
        for el in root:
            if not isinstance(el.tag, str):
                continue
            name = local(el)
            if namespace(el) == BPMNDI and name == "BPMNDiagram":
                self._read_diagram(el, defs)
            elif namespace(el) != BPMN:
                continue
            elif name == "process":
                process = self._read_process(el)
                defs.processes[process.id] = process
            elif name == "collaboration":
                self._read_collaboration(el, defs)
            elif name not in _TOP_PASSIVE and name not in ("message", "signal", "error", "escalation"):
                self._problem(None, f"unsupported element <{name}>", el)
        self._choose_main(defs)
        self._finish(defs)
        return defs, self.warnings

    # -- helpers ----------------------------------------------------------------------------------

    def _problem(self, process: str | None, message: str, el: Any, element: str | None = None) -> None:
        self.problems.append(
            (process, RoutineError(message, element=element or el.get("id"), line=el.sourceline, source=self.source.path))
        )

    def _index_ids(self, root: Any) -> None:
        for el in root.iter():
            if not isinstance(el.tag, str) or namespace(el) != BPMN:
                continue
            eid = el.get("id")
            if eid is None:
                continue
            if eid in self.ids:
                self._problem(None, f"duplicate id (first at line {self.ids[eid]})", el)
            else:
                self.ids[eid] = el.sourceline

    def _read_refs(self, root: Any) -> None:
        for el in bpmn_children(root):
            kind = local(el)
            if kind in ("message", "signal"):
                self.refs[el.get("id")] = (kind, el.get("name") or el.get("id"))
                subscription = el.find(f"{{{BPMN}}}extensionElements/{{{ZEEBE}}}subscription")
                if kind == "message" and subscription is not None and subscription.get("correlationKey"):
                    self.correlations[el.get("id")] = (subscription.get("correlationKey"), subscription.sourceline)
            elif kind == "error":
                self.refs[el.get("id")] = (kind, el.get("errorCode") or el.get("name") or el.get("id"))
            elif kind == "escalation":
                self.refs[el.get("id")] = (kind, el.get("escalationCode") or el.get("name") or el.get("id"))

    def _correlation(self, pid: str, message_ref: str | None, element: str | None) -> Any:
        found = self.correlations.get(message_ref or "")
        return None if found is None else self._compile_text(pid, found[0], None, element, found[1])

    def _ref(self, process: str, el: Any, attr: str, kind: str) -> str | None:
        ref = el.get(attr)
        if ref is None:
            return None
        found = self.refs.get(ref)
        if found is None or found[0] != kind:
            self._problem(process, f"{attr} {ref!r} does not name a <{kind}>", el, element=el.getparent().get("id"))
            return None
        return found[1]

    # -- processes --------------------------------------------------------------------------------

    def _read_process(self, el: Any) -> Process:
        process = Process(
            id=el.get("id") or "process",
            name=el.get("name") or "",
            executable=el.get("isExecutable", "true").lower() != "false",
            line=el.sourceline,
            dpe=el.get(f"{{{VROOLI}}}joins", "strict") == "dpe",
        )
        for lane in el.iter(f"{{{BPMN}}}lane"):
            for ref in lane.iter(f"{{{BPMN}}}flowNodeRef"):
                self.lanes[text_of(ref)] = lane.get("name") or lane.get("id")
        flows: list[tuple[Any, str | None]] = []
        associations: dict[str, str] = {}
        pending: list[tuple[Any, str | None]] = [(el, None)]
        while pending:  # a worklist over containers: nesting depth costs no recursion
            container, scope = pending.pop()
            for child in bpmn_children(container):
                name = local(child)
                if name == "sequenceFlow":
                    flows.append((child, scope))
                elif name == "association" and child.get("sourceRef"):
                    associations[child.get("sourceRef")] = child.get("targetRef")
                elif name in _KINDS:
                    node = self._read_node(process, child, _KINDS[name], scope)
                    if node.id in process.nodes:
                        continue  # reported as a duplicate id
                    process.nodes[node.id] = node
                    if node.kind.is_container:
                        pending.append((child, node.id))
                elif name not in _PASSIVE:
                    self._problem(process.id, f"unsupported element <{name}>", child)
        for flow_el, scope in flows:
            self._read_flow(process, flow_el, scope)
        self._link(process)
        self._compensation(process, associations)
        return process

    def _read_node(self, process: Process, el: Any, kind: Kind, scope: str | None) -> Node:
        node = Node(
            id=el.get("id") or f"line{el.sourceline}",
            kind=kind,
            name=el.get("name") or "",
            line=el.sourceline,
            scope=scope,
            default=el.get("default"),
            lane=self.lanes.get(el.get("id")),
        )
        if el.get("id") is None:
            self._problem(process.id, f"<{kind.value}> has no id", el, element=node.id)
        if kind.is_event:
            node.events = self._read_events(process, el)
        if kind is Kind.BOUNDARY:
            node.attached_to = el.get("attachedToRef")
            node.interrupting = el.get("cancelActivity", "true").lower() != "false"
        elif kind is Kind.START:
            node.interrupting = el.get("isInterrupting", "true").lower() != "false"
        if kind.is_activity:
            node.for_compensation = el.get("isForCompensation", "false").lower() == "true"
            node.loop = self._read_loop(process, el)
            node.binding = read_binding(el, self._compile_text, process.id, self._problem)
        if kind.is_container:
            node.triggered_by_event = el.get("triggeredByEvent", "false").lower() == "true"
        if kind is Kind.AD_HOC:
            node.adhoc = self._read_adhoc(process, el)
        if kind is Kind.CALL:
            node.called = node.binding.get("called") or el.get("calledElement")
            node.called_version = node.binding.get("called_version")
            if not node.called:
                self._problem(process.id, "call activity names no called element", el)
        if kind is Kind.SCRIPT:
            node.script = self._read_script(process, el)
        if kind is Kind.RECEIVE and el.get("messageRef"):
            # A receive task waits like a message catch event.
            name = self._ref(process.id, el, "messageRef", "message")
            node.events = (EventDef(Trigger.MESSAGE, name=name, correlation=self._correlation(process.id, el.get("messageRef"), node.id)),)
        reason = not_supported(node)
        if reason is not None:
            self._problem(process.id, reason, el)
        return node

    def _read_events(self, process: Process, el: Any) -> tuple[EventDef, ...]:
        found: list[EventDef] = []
        for child in bpmn_children(el):
            name = local(child)
            if not name.endswith("EventDefinition"):
                continue
            trigger = _TRIGGERS.get(name)
            if trigger is None:
                self._problem(process.id, f"unsupported event definition <{name}>", child, element=el.get("id"))
                continue
            found.append(self._read_event(process, el, child, trigger))
        return tuple(found)

    def _read_event(self, process: Process, event: Any, d: Any, trigger: Trigger) -> EventDef:
        pid = process.id
        if trigger is Trigger.MESSAGE:
            name = self._ref(pid, d, "messageRef", "message") or event.get("name") or event.get("id")
            return EventDef(trigger, name=name, correlation=self._correlation(pid, d.get("messageRef"), event.get("id")))
        if trigger is Trigger.SIGNAL:
            return EventDef(trigger, name=self._ref(pid, d, "signalRef", "signal") or event.get("name") or event.get("id"))
        if trigger is Trigger.ERROR:
            return EventDef(trigger, code=self._ref(pid, d, "errorRef", "error"))
        if trigger is Trigger.ESCALATION:
            return EventDef(trigger, code=self._ref(pid, d, "escalationRef", "escalation"))
        if trigger is Trigger.LINK:
            return EventDef(trigger, name=d.get("name") or event.get("name") or event.get("id"))
        if trigger is Trigger.COMPENSATE:
            return EventDef(trigger, activity=d.get("activityRef"), wait=d.get("waitForCompletion", "true").lower() != "false")
        if trigger is Trigger.TIMER:
            return EventDef(trigger, timer=self._read_timer(pid, event, d))
        if trigger is Trigger.CONDITIONAL:
            cond = next(iter(bpmn_children(d, "condition")), None)
            if cond is None:
                self._problem(pid, "conditional event has no <condition>", d, element=event.get("id"))
                return EventDef(trigger)
            return EventDef(trigger, condition=self._compile(pid, cond, event.get("id")))
        return EventDef(trigger)

    def _read_timer(self, pid: str, event: Any, d: Any) -> Any:
        for child in bpmn_children(d):
            kind = {"timeDate": "date", "timeDuration": "duration", "timeCycle": "cycle"}.get(local(child))
            if kind is not None:
                from vrooli_bpmn.timers import compile_timer

                try:
                    return compile_timer(kind, text_of(child), element=event.get("id"), line=child.sourceline)  # type: ignore[arg-type]
                except RoutineError as exc:
                    self.problems.append((pid, exc))
                    return None
        self._problem(pid, "timer event has no timeDate, timeDuration or timeCycle", d, element=event.get("id"))
        return None

    def _read_script(self, process: Process, el: Any) -> Any:
        body = next(iter(bpmn_children(el, "script")), None)
        zeebe = el.find(f"{{{BPMN}}}extensionElements/{{{ZEEBE}}}script")
        if body is None and zeebe is None:
            return None  # an empty script task does nothing
        from vrooli_bpmn.scripts import compile_script

        try:
            if zeebe is not None:
                # Camunda 8: a FEEL expression whose result goes to a variable.
                return ("feel", zeebe.get("resultVariable"), self._compile_text(process.id, zeebe.get("expression") or "", "feel", el.get("id"), zeebe.sourceline))
            text, fmt = text_of(body), el.get("scriptFormat")
            translate = self.script_languages.get((fmt or "").strip().lower())
            if translate is not None:
                try:
                    text, fmt = translate(text), "python"
                except ValueError as exc:
                    raise RoutineError(f"{fmt} script cannot be translated: {exc}", element=el.get("id"), line=body.sourceline) from None
            return compile_script(text, fmt, element=el.get("id"), line=body.sourceline)
        except RoutineError as exc:
            self.problems.append((process.id, exc))
            return None

    def _read_loop(self, process: Process, el: Any) -> Loop | None:
        std = next(iter(bpmn_children(el, "standardLoopCharacteristics")), None)
        if std is not None:
            cond = next(iter(bpmn_children(std, "loopCondition")), None)
            maximum = std.get("loopMaximum")
            return Loop(
                multi=False,
                condition=self._compile(process.id, cond, el.get("id")) if cond is not None else None,
                maximum=int(maximum) if maximum and maximum.isdigit() else None,
                test_before=std.get("testBefore", "false").lower() == "true",
            )
        mi = next(iter(bpmn_children(el, "multiInstanceLoopCharacteristics")), None)
        if mi is None:
            return None
        eid = el.get("id")
        card = next(iter(bpmn_children(mi, "loopCardinality")), None)
        done = next(iter(bpmn_children(mi, "completionCondition")), None)
        data_in = text_of(next(iter(bpmn_children(mi, "loopDataInputRef")), None)) or None
        item = next(iter(bpmn_children(mi, "inputDataItem")), None)
        out_ref = text_of(next(iter(bpmn_children(mi, "loopDataOutputRef")), None)) or None
        out_item = next(iter(bpmn_children(mi, "outputDataItem")), None)
        zeebe = mi.find(f"{{{BPMN}}}extensionElements/{{{ZEEBE}}}loopCharacteristics")
        collection: Any = data_in or mi.get(f"{{{CAMUNDA}}}collection")
        element_var = (item.get("name") or item.get("id")) if item is not None else mi.get(f"{{{CAMUNDA}}}elementVariable")
        output_element: Any = (out_item.get("name") or out_item.get("id")) if out_item is not None else None
        if zeebe is not None:
            collection = zeebe.get("inputCollection") or collection
            element_var = zeebe.get("inputElement") or element_var
            out_ref = zeebe.get("outputCollection") or out_ref
            output_element = zeebe.get("outputElement") or output_element
        if isinstance(collection, str) and collection.startswith(("=", "${")):
            collection = self._compile_text(process.id, collection, None, eid, mi.sourceline)
        if isinstance(output_element, str) and output_element.startswith(("=", "${")):
            output_element = self._compile_text(process.id, output_element, None, eid, mi.sourceline)
        if card is None and collection is None:
            self._problem(process.id, "multi-instance needs a loopCardinality or an input collection", mi, element=eid)
        return Loop(
            multi=True,
            sequential=mi.get("isSequential", "false").lower() == "true",
            cardinality=self._compile(process.id, card, eid) if card is not None else None,
            collection=collection,
            element_variable=element_var,
            output_collection=out_ref,
            output_element=output_element,
            completion=self._compile(process.id, done, eid) if done is not None else None,
        )

    def _compile(self, pid: str, el: Any, element: str | None) -> Any:
        """An expression element's compiled form; an empty one means "no expression" (``None``)."""
        text = text_of(el)
        if not text:
            return None
        return self._compile_text(pid, text, el.get("language"), element, el.sourceline)

    def _compile_text(self, pid: str, text: str, language: str | None, element: str | None, line: int | None) -> Any:
        from vrooli_bpmn.expressions import compile_expression

        try:
            return compile_expression(text, language or self.expression_language, element=element, line=line)
        except RoutineError as exc:
            self.problems.append((pid, exc))
            return None

    #: The file's ``expressionLanguage`` (set by ``parse``).
    expression_language: str | None = None

    # -- flows, links, collaboration, diagram ------------------------------------------------------

    def _read_flow(self, process: Process, el: Any, scope: str | None) -> None:
        fid = el.get("id") or f"line{el.sourceline}"
        source, target = el.get("sourceRef"), el.get("targetRef")
        for end, ref in (("sourceRef", source), ("targetRef", target)):
            if ref not in process.nodes:
                self._problem(process.id, f"sequence flow {end} {ref!r} names no flow node of process {process.id!r}", el, element=fid)
                return
        cond_el = next(iter(bpmn_children(el, "conditionExpression")), None)
        condition = self._compile(process.id, cond_el, fid) if cond_el is not None else None
        flow = Flow(fid, source, target, el.get("name") or "", condition, el.sourceline)
        process.flows[fid] = flow
        process.nodes[source].outgoing.append(fid)
        process.nodes[target].incoming.append(fid)

    def _link(self, process: Process) -> None:
        nodes = process.nodes
        for node in nodes.values():
            if node.kind is Kind.BOUNDARY:
                host = nodes.get(node.attached_to or "")
                if host is None or not host.kind.is_activity:
                    self._problem(process.id, f"boundary event attached to {node.attached_to!r}, which is not an activity of this process", _Line(node), element=node.id)
                    continue
                host.boundaries.append(node.id)
                node.scope = host.scope
            elif node.kind is Kind.START:
                if node.scope is None:
                    process.starts.append(node.id)
                else:
                    nodes[node.scope].starts.append(node.id)
            if node.kind.is_container and node.triggered_by_event:
                if node.scope is None:
                    process.event_subprocesses.append(node.id)
            if node.scope is not None and node.scope in nodes:
                nodes[node.scope].children.append(node.id)
            if node.default is not None and node.default not in node.outgoing:
                self._problem(process.id, f"default flow {node.default!r} does not leave this element", _Line(node), element=node.id)
            if node.kind.is_gateway and not node.outgoing:
                self._problem(process.id, "gateway has no outgoing sequence flow", _Line(node), element=node.id)
            for ev in node.events:
                if ev.trigger is Trigger.LINK and node.kind is Kind.CATCH:
                    process.links[(node.scope, ev.name or "")] = node.id
        for node in nodes.values():
            if node.triggered_by_event:
                starts = [nodes[s] for s in node.starts]
                if len(starts) != 1 or not starts[0].events:
                    self._problem(process.id, "an event subprocess needs exactly one start event, with a trigger", _Line(node), element=node.id)
            for ev in node.events:
                if ev.trigger is Trigger.LINK and node.kind is Kind.THROW and (node.scope, ev.name or "") not in process.links:
                    self._problem(process.id, f"link {ev.name!r} has no catching link event in the same scope", _Line(node), element=node.id)

    def _compensation(self, process: Process, associations: dict[str, str]) -> None:
        """Tie compensation boundaries to their handlers (through associations) and check where
        compensation and cancel events stand."""
        nodes = process.nodes
        handled: set[str] = set()
        for node in nodes.values():
            for ev in node.events:
                if ev.trigger is Trigger.COMPENSATE:
                    self._compensation_event(process, node, ev, associations, handled)
                elif ev.trigger is Trigger.CANCEL:
                    self._cancel_event(process, node)
        for node in nodes.values():
            if not node.for_compensation:
                continue
            if node.incoming or node.outgoing:
                self._problem(process.id, "a compensation handler has no sequence flows (it runs only when compensation is thrown)", _Line(node), element=node.id)
            elif node.id not in handled:
                self.warnings.append(RoutineWarning("compensation handler is associated with no compensation boundary event: it never runs", node.id, node.line))

    def _compensation_event(self, process: Process, node: Node, ev: EventDef, associations: dict[str, str], handled: set[str]) -> None:
        nodes = process.nodes
        if node.kind is Kind.BOUNDARY:
            host = nodes.get(node.attached_to or "")
            handler = nodes.get(associations.get(node.id, ""))
            if handler is None or not handler.for_compensation:
                self._problem(process.id, 'compensation boundary event has no association to a handler (an activity with isForCompensation="true")', _Line(node), element=node.id)
            elif host is not None:
                if host.compensation is not None:
                    self._problem(process.id, f"activity {host.id!r} has more than one compensation handler", _Line(node), element=node.id)
                host.compensation = handler.id
                handled.add(handler.id)
            if node.outgoing:
                self._problem(process.id, "a compensation boundary event has no outgoing sequence flows (its handler is linked by an association)", _Line(node), element=node.id)
        elif node.kind in (Kind.THROW, Kind.END):
            target = nodes.get(ev.activity or "")
            scope = node.scope
            while scope is not None and nodes[scope].triggered_by_event and not _compensation_esp(process, nodes[scope]):
                scope = nodes[scope].scope  # an event subprocess compensates the scope it is in
            if ev.activity is not None and (target is None or not target.kind.is_activity):
                self._problem(process.id, f"activityRef {ev.activity!r} names no activity of process {process.id!r}", _Line(node), element=node.id)
            elif target is not None and target.scope != scope:
                self._problem(process.id, f"activityRef {ev.activity!r} is not in the scope the compensation is thrown in", _Line(node), element=node.id)
        elif node.kind is Kind.START and node.scope is not None and nodes[node.scope].triggered_by_event:
            # A compensation event subprocess is the handler of the subprocess it is in.
            esp = nodes[node.scope]
            owner = nodes.get(esp.scope or "")
            if owner is None:
                self._problem(process.id, "a compensation event subprocess must be inside a subprocess (a process is never compensated)", _Line(node), element=node.id)
            elif owner.compensation is not None:
                self._problem(process.id, f"activity {owner.id!r} has more than one compensation handler", _Line(node), element=node.id)
            else:
                owner.compensation = esp.id
        else:
            self._problem(process.id, "compensation is caught only by boundary events", _Line(node), element=node.id)

    def _cancel_event(self, process: Process, node: Node) -> None:
        nodes = process.nodes
        if node.kind is Kind.END:
            transaction = nodes.get(node.scope or "")
            if transaction is None or transaction.kind is not Kind.TRANSACTION:
                self._problem(process.id, "a cancel end event must be directly inside a transaction", _Line(node), element=node.id)
            elif not any(e.trigger is Trigger.CANCEL for b in transaction.boundaries for e in nodes[b].events):
                self._problem(process.id, f"transaction {transaction.id!r} has a cancel end event but no cancel boundary event", _Line(node), element=node.id)
        elif node.kind is Kind.BOUNDARY:
            host = nodes.get(node.attached_to or "")
            if host is not None and host.kind is not Kind.TRANSACTION:
                self._problem(process.id, "a cancel boundary event can only be attached to a transaction", _Line(node), element=node.id)
        else:
            self._problem(process.id, "cancel events are end events in a transaction or boundary events on one", _Line(node), element=node.id)

    def _read_adhoc(self, process: Process, el: Any) -> AdHoc:
        ordering = el.get("ordering", "Parallel")
        if ordering not in ("Parallel", "Sequential"):
            self._problem(process.id, f"unknown ad-hoc ordering {ordering!r} (Parallel or Sequential)", el)
        cond_el = next(iter(bpmn_children(el, "completionCondition")), None)
        active = None
        spec = el.find(f"{{{BPMN}}}extensionElements/{{{ZEEBE}}}adHoc")
        text = el.get(f"{{{VROOLI}}}activate")
        line = el.sourceline
        if spec is not None:
            text, line = spec.get("activeElementsCollection") or text, spec.sourceline
            for attr in sorted(set(spec.attrib) - {"activeElementsCollection"}):
                self._problem(process.id, f"zeebe:adHoc {attr} is not supported", spec, element=el.get("id"))
        if text:
            active = self._compile_text(process.id, text, None, el.get("id"), line)
        return AdHoc(
            sequential=ordering == "Sequential",
            active=active,
            completion=self._compile(process.id, cond_el, el.get("id")) if cond_el is not None else None,
            cancel_remaining=el.get("cancelRemainingInstances", "true").lower() != "false",
        )

    def _read_collaboration(self, el: Any, defs: Definitions) -> None:
        for child in bpmn_children(el):
            if local(child) == "messageFlow":
                ref = child.get("messageRef")
                name = self.refs.get(ref, ("", None))[1] if ref else child.get("name")
                defs.message_flows.append((child.get("sourceRef"), child.get("targetRef"), name))

    def _read_diagram(self, el: Any, defs: Definitions) -> None:
        for shape in el.iter(f"{{{BPMNDI}}}BPMNShape"):
            bounds = shape.find(f"{{{DC}}}Bounds")
            if bounds is not None and shape.get("bpmnElement"):
                try:
                    defs.shapes[shape.get("bpmnElement")] = tuple(float(bounds.get(k, 0)) for k in ("x", "y", "width", "height"))  # type: ignore[assignment]
                except ValueError as exc:
                    self._bad_diagram(shape, exc)
        for edge in el.iter(f"{{{BPMNDI}}}BPMNEdge"):
            try:
                points = [(float(p.get("x", 0)), float(p.get("y", 0))) for p in edge.iter(f"{{{DI}}}waypoint")]
            except ValueError as exc:
                self._bad_diagram(edge, exc)
                continue
            if edge.get("bpmnElement"):
                defs.edges[edge.get("bpmnElement")] = points

    def _bad_diagram(self, element: Any, exc: ValueError) -> None:
        """Diagram coordinates that are no numbers: the element is drawn without them (they only
        place it in a picture); a warning says so."""
        target = element.get("bpmnElement") or element.get("id")
        self.warnings.append(RoutineWarning(f"diagram coordinates of {target!r} are not numbers ({exc}): it is drawn without them", target, element.sourceline))

    # -- which process runs -----------------------------------------------------------------------

    def _choose_main(self, defs: Definitions) -> None:
        executable = [p.id for p in defs.processes.values() if p.executable]
        if executable:
            defs.main = executable[0]
            if len(executable) > 1:
                self.warnings.append(RoutineWarning(f"{len(executable)} executable processes; runs start {defs.main!r} (others: {', '.join(executable[1:])})"))
        elif defs.processes and (self.test_mode or self.lenient):
            defs.main = next(iter(defs.processes))
            self.warnings.append(RoutineWarning(f"test mode: running non-executable process {defs.main!r}"))
        elif defs.processes:
            first = next(iter(defs.processes.values()))
            raise RoutineError(
                'no executable process (every process has isExecutable="false"); '
                "set it to true, or load with test mode ([plugins.bpmn] test_mode = true) to run it anyway",
                element=first.id,
                line=first.line,
                source=self.source.path,
            )
        else:
            raise RoutineError("the file defines no process", source=self.source.path)
        main = defs.processes[defs.main]
        if not main.starts and not main.event_subprocesses:
            self.problems.append((main.id, RoutineError("process has no start event", element=main.id, line=main.line, source=self.source.path)))

    def _finish(self, defs: Definitions) -> None:
        runnable = {defs.main}
        pending = [defs.main]
        while pending:  # processes reachable through call activities can run too
            process = defs.processes.get(pending.pop())
            for node in process.nodes.values() if process else ():
                if node.kind is Kind.CALL and node.called in defs.processes and node.called not in runnable:
                    runnable.add(node.called)
                    pending.append(node.called)
        errors = []
        for pid, problem in self.problems:
            if not self.lenient and (pid is None or pid in runnable):
                errors.append(problem)
            else:
                self.warnings.append(RoutineWarning(f"(process {pid} does not run) {problem.message}", problem.element, problem.line))
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise RoutineError(f"{len(errors)} problems", source=self.source.path, problems=errors)


def _compensation_esp(process: Process, node: Node) -> bool:
    """Whether ``node`` is an event subprocess started by compensation (it compensates its own scope)."""
    return any(e.trigger is Trigger.COMPENSATE for s in node.starts for e in process.nodes[s].events)


class _Line:
    """Lets a node stand where an element is expected for a problem's id and line."""

    def __init__(self, node: Node) -> None:
        self.sourceline = node.line
        self._id = node.id

    def get(self, key: str, default: Any = None) -> Any:
        return self._id if key == "id" else default


__all__ = ["Parser"]
