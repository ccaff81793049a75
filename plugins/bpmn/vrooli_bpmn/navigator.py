"""The BPMN navigator: load a BPMN file into steps, and move runs through it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from vrooli_bpmn.model import Definitions, Kind, Node, Process, Trigger
from vrooli_bpmn.movement import BpmnError, Move
from vrooli_bpmn.parser import Parser
from vrooli_core.engine.navigator import Navigator, RunView
from vrooli_core.errors import RoutineError
from vrooli_core.model import (
    Decision,
    Graph,
    IOMapping,
    Outcome,
    OutcomeStatus,
    RetryPolicy,
    RoutineDef,
    RoutineSource,
    RoutineWarning,
    StepDef,
    StepKind,
    Token,
    Wait,
    WaitKind,
    WaitSpec,
)

if TYPE_CHECKING:
    from vrooli_core.picture import Picture


class Compiled:
    """A loaded file plus what moving needs precomputed (reachability for inclusive joins)."""

    def __init__(self, defs: Definitions, services: Mapping[str, Any] | None = None, dpe: bool = False) -> None:
        self.defs = defs
        #: Dead-path elimination for every process (a navigator setting), else per process.
        self.dpe_all = dpe
        #: Functions expressions may call as ``environment.services.NAME(…)`` (see BpmnNavigator.services).
        self.services = dict(services or {})
        self._where: dict[str, Process] = {nid: p for p in defs.processes.values() for nid in p.nodes}
        self._upstream: dict[str, frozenset[str]] = {}
        self._event_subs: dict[tuple[str, str | None], list[Node]] = {}
        #: Whether process-level tokens must be counted (only to withdraw event-subprocess hosts).
        self.count_root = any(p.event_subprocesses for p in defs.processes.values())

    def process_of(self, node_id: str) -> Process:
        return self._where[node_id]

    def dpe(self, process: Process) -> bool:
        return self.dpe_all or process.dpe

    def inner_process(self, node: Node) -> tuple[Process, list[str]] | None:
        """For a subprocess or a call into this file: the process holding its inside and its starts."""
        if node.kind.is_container:
            return self._where[node.id], node.starts
        if node.kind is Kind.CALL and node.called in self.defs.processes:
            called = self.defs.processes[node.called]
            return called, called.starts
        return None

    def entry_nodes(self, body: Process, container: Node) -> list[str]:
        """A subprocess or called process without start events begins at every node without incoming flows."""
        scope = container.id if container.kind.is_container else None
        return [
            n.id for n in body.nodes.values()
            if n.scope == scope and not n.incoming and n.kind is not Kind.BOUNDARY and not n.for_compensation and not n.triggered_by_event
        ]

    def event_subprocesses(self, process: Process, container: str | None) -> list[Node]:
        """The event subprocesses directly in a scope (the process itself when ``container`` is None)."""
        found = self._event_subs.get((process.id, container))
        if found is None:
            ids = process.event_subprocesses if container is None else process.nodes[container].children
            found = self._event_subs[(process.id, container)] = [process.nodes[i] for i in ids if process.nodes[i].triggered_by_event]
        return found

    def upstream(self, process: Process, join: str) -> frozenset[str]:
        """Nodes from which ``join`` can be reached without passing through it (computed once)."""
        found = self._upstream.get(join)
        if found is None:
            seen: set[str] = set()
            pending = [process.flows[f].source for f in process.nodes[join].incoming]
            while pending:
                nid = pending.pop()
                if nid == join or nid in seen:
                    continue
                seen.add(nid)
                node = process.nodes[nid]
                pending.extend(process.flows[f].source for f in node.incoming)
                if node.kind is Kind.BOUNDARY and node.attached_to:
                    pending.append(node.attached_to)
                if node.scope is not None:
                    pending.append(node.scope)  # a token inside a subprocess reaches what follows it
            found = self._upstream[join] = frozenset(seen)
        return found


class BpmnNavigator(Navigator):
    name: ClassVar[str] = "bpmn"
    suffixes: ClassVar[tuple[str, ...]] = (".bpmn", ".bpmn20.xml", ".bpmn2")
    #: Run processes marked isExecutable="false" (the ``bpmn-test`` navigator sets this).
    test_mode: ClassVar[bool] = False
    #: Functions conditions may call (``environment.services.NAME(…)`` in bpmn-elements models).
    #: Subclass the navigator to provide them: they are code, not run data, so they are never stored.
    services: ClassVar[Mapping[str, Any]] = {}
    #: Dead-path elimination for every process, for models written for engines that do it
    #: (a process can also ask for it with ``vrooli:joins="dpe"``).
    dpe: ClassVar[bool] = False
    #: Script formats (lower case) a subclass translates into the Python script subset, e.g. for
    #: reference models written for another engine. A translator raises ValueError for a script it
    #: cannot translate (a load error naming the script task). Empty: only Python scripts run.
    script_languages: ClassVar[Mapping[str, Callable[[str], str]]] = {}

    def load(self, source: RoutineSource) -> Graph:
        defs, warnings = Parser(source, test_mode=self.test_mode, script_languages=self.script_languages).parse()
        compiled = Compiled(defs, self.services, self.dpe)
        main = defs.processes[defs.main]  # type: ignore[index]
        steps: dict[str, StepDef] = {}
        for process in defs.processes.values():
            for node in process.nodes.values():
                step = _step(defs, node, warnings)
                if step is not None:
                    steps[node.id] = step
        routine = RoutineDef(
            id=main.id,
            format=self.name,
            content_hash=source.content_hash,
            name=main.name,
        )
        return Graph(routine, steps, data=compiled, warnings=tuple(warnings) + tuple(_lint(compiled)))

    def starts(self, graph: Graph) -> tuple[WaitSpec, ...]:
        """The main process's message, signal, timer and conditional start events: each starts a new
        run when it fires (a timer start on the schedule :meth:`start_due` computes, a conditional
        start when ``Engine.evaluate_conditions`` finds its condition true)."""
        compiled: Compiled = graph.data
        process = compiled.defs.processes[compiled.defs.main]  # type: ignore[index]
        found = []
        for sid in process.starts:
            for ev in process.nodes[sid].events:
                if ev.trigger in (Trigger.MESSAGE, Trigger.SIGNAL):
                    kind = WaitKind.MESSAGE if ev.trigger is Trigger.MESSAGE else WaitKind.SIGNAL
                    found.append(WaitSpec(kind, name=ev.name or sid, key=sid))
                elif ev.trigger is Trigger.TIMER and ev.timer is not None:
                    found.append(WaitSpec(WaitKind.TIMER, name=ev.timer.text.strip(), key=sid))
                elif ev.trigger is Trigger.CONDITIONAL and ev.condition is not None:
                    found.append(WaitSpec(WaitKind.CONDITION, condition=ev.condition.text.strip(), key=sid))
        return tuple(found)

    def start_condition_met(self, graph: Graph, start: WaitSpec, variables: Mapping[str, Any]) -> bool:
        compiled: Compiled = graph.data
        process = compiled.defs.processes[compiled.defs.main]  # type: ignore[index]
        condition = next(e.condition for e in process.nodes[start.key].events if e.trigger is Trigger.CONDITIONAL)
        return bool(condition.evaluate(_names(compiled, variables)))  # FEEL null is false

    def start_due(
        self, graph: Graph, start: WaitSpec, now: float, *, previous: float | None = None, fired: int = 0
    ) -> float | None:
        """A timer start event's next firing: timeDate once, timeDuration once after the version was
        loaded, timeCycle until its repetitions are used up (cron: forever). Expressions are
        evaluated without run variables; one that cannot be is an ExpressionError naming the event."""
        compiled: Compiled = graph.data
        process = compiled.defs.processes[compiled.defs.main]  # type: ignore[index]
        timer = next(e.timer for e in process.nodes[start.key].events if e.trigger is Trigger.TIMER)
        names = _names(compiled, {})
        if previous is None:
            return float(timer.first_due(now, names))
        return timer.next_due(previous, fired, names)

    def start(self, graph: Graph, view: RunView) -> Decision:
        compiled: Compiled = graph.data
        process = compiled.defs.processes[compiled.defs.main]  # type: ignore[index]
        move = Move(compiled, view)
        try:
            move.open_hosts(process, None, None)
            if view.start is not None and view.start in process.nodes:
                # Started by a message or signal: only that start event fires.
                move.follow(process.nodes[view.start].outgoing, process, None)
                move.settle(compiled.process_of)
                return move.decision()
            for sid in process.starts:
                start = process.nodes[sid]
                if start.events:
                    move.spawn(start.id, None, waits=move._catch_waits(process, start, blocking=True))
                else:
                    move.follow(start.outgoing, process, None)
            move.settle(compiled.process_of)
        except BpmnError as exc:
            return Decision(error=exc.info)
        return move.decision()

    def next(self, graph: Graph, view: RunView, token: Token, outcome: Outcome) -> Decision:
        compiled: Compiled = graph.data
        process = compiled.process_of(token.location)
        node = process.nodes[token.location]
        move = Move(compiled, view, token.locals)
        move.consume(token)
        try:
            if outcome.status is OutcomeStatus.FAILED:
                err = outcome.error
                move.throw_error(process, token.scope, err.code if err else "error", err.message if err else "failed", node.id, token=token, node=node)
            elif node.kind is Kind.EVENT_BASED:
                chosen = process.nodes[outcome.trigger or ""]
                _merge_payload(move, outcome)
                for flow in node.outgoing:  # the branches that lost the race are dead paths
                    loser = process.nodes[process.flows[flow].target]
                    if loser.id != chosen.id:
                        move.discard(loser.outgoing, process, token.scope)
                move.follow(chosen.outgoing, process, token.scope, token.locals)
            elif node.kind in (Kind.CATCH, Kind.START):
                _merge_payload(move, outcome)
                move.follow(node.outgoing, process, token.scope, token.locals)
            elif token.data.get("enter"):
                move.open_container(process, node, token.scope, token.locals, token.data)
            else:
                if node.kind is Kind.RECEIVE:
                    _merge_payload(move, outcome)
                if "set" in node.binding:
                    move.variables.update(node.binding["set"])  # constant output parameters
                from vrooli_bpmn.loops import completed

                completed(move, process, node, token.scope, token.data, token.locals, outcome)
            move.recheck_or_joins(process, token.scope)
            move.settle(compiled.process_of)
        except BpmnError as exc:
            return Decision(error=exc.info)
        return move.decision()

    def condition_met(self, graph: Graph, view: RunView, wait: Wait) -> bool:
        condition = _condition_of(graph.data, wait)
        if condition is None:
            return super().condition_met(graph, view, wait)
        return bool(condition.evaluate(_names(graph.data, view.variables)))  # FEEL null is false

    def on_event(self, graph: Graph, view: RunView, wait: Wait, outcome: Outcome) -> Decision:
        compiled: Compiled = graph.data
        host = view.tokens.get(wait.token)
        if host is None:
            return Decision()
        if wait.spec.key.startswith("es:"):
            return _event_subprocess(compiled, view, host, wait, outcome)
        if not wait.spec.key.startswith("b:"):
            return Decision()
        boundary_id = wait.spec.key[2:]
        process = compiled.process_of(boundary_id)
        boundary = process.nodes[boundary_id]
        move = Move(compiled, view, host.locals)
        try:
            _merge_payload(move, outcome)
            if boundary.interrupting:
                move.interrupt(host)
            elif wait.spec.kind is WaitKind.TIMER:
                _repeat_timer(move, boundary, wait, outcome)
            move.follow(boundary.outgoing, process, host.scope, host.locals)
            move.recheck_or_joins(process, host.scope)
            move.settle(compiled.process_of)
        except BpmnError as exc:
            return Decision(error=exc.info)
        return move.decision()

    def picture(self, graph: Graph) -> Picture:
        """Every flow node at its diagram bounds (when the file has them), with its flows."""
        from vrooli_bpmn.picture import picture_of_graph

        return picture_of_graph(graph)

    def visits(self, graph: Graph, history: Any) -> dict[str, int]:
        """Steps a run visited, plus the gateways and events its tokens passed on the way."""
        from vrooli_bpmn.picture import run_visits

        return run_visits(graph, super().visits(graph, history), history)

    def picture_of_source(self, source: RoutineSource) -> Picture:
        """The picture of a file that does not load for running (read leniently)."""
        from vrooli_bpmn.picture import picture_of_source

        return picture_of_source(source)


def _event_subprocess(compiled: Compiled, view: RunView, host: Token, wait: Wait, outcome: Outcome) -> Decision:
    move = Move(compiled, view)
    try:
        _merge_payload(move, outcome)
        next_due = None
        if wait.spec.kind is WaitKind.TIMER:
            start = compiled.process_of(host.location).nodes[host.data["host"]]
            next_due = _next_cycle_due(move, start, f"fired:{host.id}", outcome)
        move.trigger_event_subprocess(host, wait.spec, next_due)
        move.settle(compiled.process_of)
    except BpmnError as exc:
        return Decision(error=exc.info)
    return move.decision()


def _names(compiled: Compiled, variables: Mapping[str, Any]) -> dict[str, Any]:
    """What expressions see: the variables, and the registered functions when there are any."""
    names = dict(variables)
    if compiled.services:
        names["__services__"] = compiled.services
    return names


def _condition_of(compiled: Compiled, wait: Wait) -> Any:
    event_id = wait.spec.form.get("event") if wait.spec.form else None
    node = compiled.process_of(event_id).nodes[event_id] if event_id else None
    return next((e.condition for e in node.events if e.trigger is Trigger.CONDITIONAL), None) if node else None


class BpmnTestNavigator(BpmnNavigator):
    """Runs non-executable processes too (``--format bpmn-test``): for reference models and tests."""

    name: ClassVar[str] = "bpmn-test"
    suffixes: ClassVar[tuple[str, ...]] = ()
    test_mode: ClassVar[bool] = True


def _merge_payload(move: Move, outcome: Outcome) -> None:
    if isinstance(outcome.output, Mapping) and "due" not in outcome.output:
        move.variables.update(outcome.output)


def _repeat_timer(move: Move, boundary: Node, wait: Wait, outcome: Outcome) -> None:
    nxt = _next_cycle_due(move, boundary, f"fired:{wait.token}:{boundary.id}", outcome)
    if nxt is not None:
        move.waits.append(WaitSpec(WaitKind.TIMER, key=wait.spec.key, blocking=False, due=nxt, token=wait.token))


def _next_cycle_due(move: Move, event: Node, counter: str, outcome: Outcome) -> float | None:
    """When a timer cycle on ``event`` fires next (``None``: not a cycle, or it is exhausted); the
    firings so far are counted in the navigator state under ``counter``."""
    timer = next((e.timer for e in event.events if e.trigger is Trigger.TIMER), None)
    if timer is None or timer.kind != "cycle":
        return None
    fired = move.get(counter, 0) + 1
    move.put(counter, fired)
    due = outcome.output.get("due") if isinstance(outcome.output, Mapping) else None
    return timer.next_due(float(due if due is not None else move.view.now), fired, move.names())


def _step(defs: Definitions, node: Node, warnings: list[RoutineWarning]) -> StepDef | None:
    """The step a node's tokens execute (``None``: tokens never stop there)."""
    kind = node.kind
    if kind in (Kind.END, Kind.THROW) and any(e.trigger is Trigger.COMPENSATE for e in node.events):
        return StepDef(node.id, StepKind.NOOP, node.name, line=node.line)  # a token may wait there for the handlers
    if kind in (Kind.END, Kind.THROW, Kind.BOUNDARY, Kind.EXCLUSIVE) or (kind is Kind.START and not node.events):
        return None
    if not kind.is_activity:
        return StepDef(node.id, StepKind.NOOP, node.name, line=node.line)  # catch events, joins, event-based gateways
    b = node.binding
    config: dict[str, Any] = {k: v for k, v in b.items() if k not in ("inputs", "outputs", "retries", "kind", "set", "strategy")}
    strategy = b.get("strategy")
    if kind.is_container or (kind is Kind.CALL and node.called in defs.processes):
        step_kind = StepKind.NOOP
    elif kind is Kind.CALL:
        step_kind = StepKind.SUBROUTINE
        config["routine"] = node.called
        if node.called_version:
            config["version"] = node.called_version
    elif kind is Kind.USER:
        step_kind = StepKind.HUMAN
        groups = list(b.get("candidate_groups") or ([node.lane] if node.lane else []))
        if groups:
            config["candidate_groups"] = groups
    elif kind is Kind.SCRIPT:
        step_kind, strategy = (StepKind.CODE, "bpmn-script") if node.script is not None else (StepKind.NOOP, None)
        config["script"] = node.script
    elif kind is Kind.RECEIVE:
        step_kind = StepKind.NOOP
    elif b.get("kind"):
        try:
            step_kind = StepKind(b["kind"])
        except ValueError:
            raise RoutineError(f"unknown vrooli:kind {b['kind']!r}", element=node.id, line=node.line) from None
    elif b.get("tool"):
        step_kind = StepKind.TOOL
    else:
        step_kind = StepKind.NOOP
        if kind in (Kind.SERVICE, Kind.SEND, Kind.BUSINESS_RULE):
            warnings.append(RoutineWarning(f"{kind.value} has no implementation bound (vrooli:tool or zeebe:taskDefinition); it completes at once", node.id, node.line))
    if node.name and "description" not in config:
        config["description"] = node.name
    inputs = b.get("inputs")
    io = IOMapping(
        inputs={k: (v.evaluate if hasattr(v, "evaluate") else v) for k, v in inputs.items()} if inputs else None,
        outputs=b.get("outputs"),
    )
    retries = b.get("retries")
    return StepDef(
        node.id,
        step_kind,
        node.name,
        strategy,
        config,
        io,
        retry=RetryPolicy(max_attempts=retries) if isinstance(retries, int) and retries > 0 else RetryPolicy(),
        line=node.line,
    )


def _lint(compiled: Compiled) -> list[RoutineWarning]:
    """Warn where strict semantics deadlock: a parallel join fed by an exclusive or event-based split."""
    found = []
    for process in compiled.defs.processes.values():
        if compiled.dpe(process):
            continue  # discards reach the join: no deadlock
        for node in process.nodes.values():
            if node.kind is not Kind.PARALLEL or len(node.incoming) < 2:
                continue
            for split_id in compiled.upstream(process, node.id):
                split = process.nodes[split_id]
                if split.kind in (Kind.EXCLUSIVE, Kind.EVENT_BASED) and len(split.outgoing) > 1:
                    found.append(RoutineWarning(
                        f"parallel join {node.id!r} is fed by {split.kind.value} {split.id!r}: under strict BPMN semantics "
                        "it waits for a branch that was not taken (use an exclusive merge or an inclusive join)",
                        node.id,
                        node.line,
                    ))
                    break
    return found
