"""Building one decision: where tokens go when they enter, leave or fail at BPMN elements.

Strict BPMN token semantics. Gateways, start/end and throw events are passed inline (they never hold a
token); a parallel or inclusive join parks each arriving token at the gateway (so a stalled join is
visible, and a run never "completes" past it) until it fires. Subprocesses hold a *container token*
parked on an internal wait; the tokens inside carry the container's scope id (``s<n>``), and a live
count per scope (``n:<scope>``) says when the inside is done, in O(1).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vrooli_bpmn.model import Kind, Node, Process, Trigger
from vrooli_core.errors import ExpressionError
from vrooli_core.model import (
    Decision,
    Emit,
    ErrorInfo,
    NewToken,
    Token,
    WaitKind,
    WaitSpec,
)
from vrooli_core.model.empty import EMPTY

_WAIT_KIND = {
    Trigger.MESSAGE: WaitKind.MESSAGE,
    Trigger.SIGNAL: WaitKind.SIGNAL,
    Trigger.TIMER: WaitKind.TIMER,
    Trigger.CONDITIONAL: WaitKind.CONDITION,
}


class BpmnError(Exception):
    """A BPMN error that no boundary catches: the run fails with it."""

    def __init__(self, info: ErrorInfo) -> None:
        super().__init__(info.message)
        self.info = info


class Move:
    def __init__(self, compiled: Any, view: Any, locals_: Mapping[str, Any] = EMPTY) -> None:
        self.c = compiled
        self.view = view
        self.locals = locals_
        self.create: list[NewToken | None] = []
        self.cancel: list[str] = []
        self.waits: list[WaitSpec] = []
        self.variables: dict[str, Any] = {}
        self.state: dict[str, Any] = {}
        self.forget: set[str] = set()
        self.emit: list[Emit] = []
        self.complete = False
        self.gone: set[str] = set()
        self.touched: set[str] = set()
        #: scope id -> index in ``create`` of a container token made in this decision
        self.new_containers: dict[str, int] = {}
        #: Scopes ended in this decision (terminated or cancelled): tokens still on their way into
        #: them are dropped.
        self.closed: set[str] = set()
        #: Scopes in which a token completed in this decision (ad-hoc completion conditions are checked).
        self.finished_in: set[str | None] = set()

    # -- state ------------------------------------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        if key in self.state:
            return self.state[key]
        if key in self.forget:
            return default
        return self.view.state.get(key, default)

    def put(self, key: str, value: Any) -> None:
        self.state[key] = value
        self.forget.discard(key)

    def drop(self, key: str) -> None:
        self.state.pop(key, None)
        if key in self.view.state:
            self.forget.add(key)

    def names(self) -> dict[str, Any]:
        names = {**self.view.variables, **self.variables, **self.locals}
        if self.c.services:
            names["__services__"] = self.c.services
        return names

    def payload(self) -> dict[str, Any]:
        """What a thrown message or signal carries: the run's variables (never the services)."""
        return {**self.view.variables, **self.variables}

    def evaluate(self, expression: Any, element: str) -> Any:
        try:
            return expression.evaluate(self.names())
        except ExpressionError as exc:
            raise BpmnError(ErrorInfo("expression_error", exc.message, "ExpressionError", element)) from None

    def _count(self, scope: str | None, delta: int) -> None:
        if scope is None and not self.c.count_root:
            return
        key = f"n:{scope}"
        self.put(key, self.get(key, 0) + delta)
        self.touched.add(scope)

    # -- tokens -----------------------------------------------------------------------------------

    def spawn(
        self, node: str, scope: str | None, *, data: Mapping[str, Any] = EMPTY, locals_: Mapping[str, Any] = EMPTY,
        waits: list[WaitSpec] | None = None, counted: bool = True,
    ) -> int:
        """Create a token. ``counted=False``: an event-subprocess host, which keeps no scope alive."""
        waits = waits or []
        self.create.append(NewToken(node, scope, data, locals_, waits[0] if waits else None, tuple(waits[1:])))
        if counted:
            self._count(scope, +1)
        return len(self.create) - 1

    def consume(self, token: Token) -> None:
        self.gone.add(token.id)
        self._count(token.scope, -1)
        self.finished_in.add(token.scope)

    def kill(self, token: Token) -> None:
        """Cancel a token and, for a container, everything inside it."""
        pending = [token]
        while pending:
            tok = pending.pop()
            if tok.id in self.gone:
                continue
            self.gone.add(tok.id)
            self.cancel.append(tok.id)
            if "host" not in tok.data:
                self._count(tok.scope, -1)
            sid = tok.data.get("sid")
            if sid is not None:
                pending.extend(t for t in self.view.tokens.values() if t.scope == sid)
                self._forget_scope(sid)

    def _forget_scope(self, sid: str) -> None:
        for key in list(self.view.state):
            if key.endswith(f":{sid}") or f":{sid}:" in key:
                self.drop(key)
        for key in list(self.state):
            if key.endswith(f":{sid}") or f":{sid}:" in key:
                self.drop(key)
        self.touched.discard(sid)

    # -- entering ---------------------------------------------------------------------------------

    def follow(self, flows: list[str], process: Process, scope: str | None, locals_: Mapping[str, Any] = EMPTY) -> None:
        """Send one token down each flow; a worklist, so long chains of gateways cost no recursion."""
        pending = [(process.flows[f].target, f, scope, locals_) for f in reversed(flows)]
        while pending:
            node_id, via, sc, loc = pending.pop()
            if sc in self.closed:
                continue
            for nxt in reversed(self.arrive(process, process.nodes[node_id], via, sc, loc)):
                pending.append((process.flows[nxt].target, nxt, sc, loc))

    def arrive(self, process: Process, node: Node, via: str | None, scope: str | None, loc: Mapping[str, Any]) -> list[str]:
        """A token arrives at ``node``; returns the flows it leaves by at once (inline elements)."""
        kind = node.kind
        if kind is Kind.EXCLUSIVE:
            chosen = self._exclusive(process, node)
            self.discard([f for f in node.outgoing if f != chosen], process, scope)
            return [chosen]
        if kind is Kind.PARALLEL:
            return node.outgoing if self._join(process, node, via, scope, strict=True) else []
        if kind is Kind.INCLUSIVE:
            if len(node.incoming) > 1 and not self._join(process, node, via, scope, strict=False):
                return []
            taken = self._inclusive(process, node)
            self.discard([f for f in node.outgoing if f not in taken], process, scope)
            return taken
        if kind is Kind.EVENT_BASED:
            waits = [w for flow in node.outgoing for w in self._catch_waits(process, process.nodes[process.flows[flow].target], blocking=True)]
            self.spawn(node.id, scope, waits=waits)
            return []
        if kind is Kind.END:
            self._end(process, node, scope, loc)
            return []
        if kind is Kind.THROW:
            return self._throw(process, node, scope, loc)
        if kind is Kind.CATCH:
            link = next((e for e in node.events if e.trigger is Trigger.LINK), None)
            if link is not None or not node.events:
                return node.outgoing
            self.spawn(node.id, scope, waits=self._catch_waits(process, node, blocking=True))
            return []
        if kind is Kind.START or kind is Kind.BOUNDARY:
            return node.outgoing
        self.enter_activity(process, node, scope, loc)
        return []

    def _exclusive(self, process: Process, node: Node) -> str:
        for fid in node.outgoing:
            flow = process.flows[fid]
            if fid == node.default:
                continue
            if flow.condition is None or self.evaluate(flow.condition, fid):
                return fid
        if node.default is not None:
            return node.default
        raise BpmnError(ErrorInfo("no_path", f"no outgoing flow of gateway {node.id!r} matched and it has no default flow", "BpmnError", node.id))

    def _inclusive(self, process: Process, node: Node) -> list[str]:
        taken = [f for f in node.outgoing if f != node.default and (process.flows[f].condition is None or self.evaluate(process.flows[f].condition, f))]
        if taken:
            return taken
        if node.default is not None:
            return [node.default]
        raise BpmnError(ErrorInfo("no_path", f"no outgoing flow of gateway {node.id!r} matched and it has no default flow", "BpmnError", node.id))

    def leave_activity(self, process: Process, node: Node, scope: str | None, loc: Mapping[str, Any] = EMPTY) -> None:
        """An activity completed: conditional flows are all evaluated (the true ones are taken, else
        the default); unconditional flows are always taken (an implicit parallel split)."""
        flows = process.flows
        conditional = [f for f in node.outgoing if flows[f].condition is not None]
        plain = [f for f in node.outgoing if flows[f].condition is None and f != node.default]
        taken = [f for f in conditional if self.evaluate(flows[f].condition, f)]
        if conditional and not taken and node.default is not None:
            taken = [node.default]
        self.discard([f for f in node.outgoing if f not in taken and f not in plain], process, scope)
        self.follow(plain + taken, process, scope, loc)

    # -- joins ------------------------------------------------------------------------------------

    def _join(self, process: Process, node: Node, via: str | None, scope: str | None, *, strict: bool) -> bool:
        """Record an arrival; True when the join fires (the arriving token then moves on)."""
        if len(node.incoming) < 2:
            return True
        if strict:
            return self._parallel_arrival(node, via or "", scope, dead=False)
        key = f"j:{scope}:{node.id}"
        arrived: dict[str, int] = dict(self.get(key, {}))
        arrived[via or ""] = arrived.get(via or "", 0) + 1
        if self._can_still_arrive(process, node, scope):
            self.put(key, arrived)
            self._park(node, scope)
            pending = self.get(f"oj:{scope}", [])
            if node.id not in pending:
                self.put(f"oj:{scope}", [*pending, node.id])
            return False
        # Fire: the current arrival passes and consumes every earlier one.
        self._unpark(node, scope)
        self.drop(key)
        self._or_join_done(node.id, scope)
        return True

    def _or_join_done(self, gateway: str, scope: str | None) -> None:
        left = [g for g in self.get(f"oj:{scope}", []) if g != gateway]
        if left:
            self.put(f"oj:{scope}", left)
        else:
            self.drop(f"oj:{scope}")

    def _park(self, node: Node, scope: str | None) -> None:
        """Arrivals waiting at a join are counted in state; one token stands for all of them (it keeps
        the scope alive and shows where the run waits). Created by the first, kept until none waits."""
        key = f"jp:{scope}:{node.id}"
        if not self.get(key):
            self.put(key, 1)
            self.spawn(node.id, scope, waits=[WaitSpec(WaitKind.INTERNAL, key=f"join:{node.id}")])

    def _unpark(self, node: Node, scope: str | None) -> None:
        """No arrival waits at the join any more: withdraw its token (one scan, once per firing)."""
        key = f"jp:{scope}:{node.id}"
        if not self.get(key):
            return
        self.drop(key)
        for i, nt in enumerate(self.create):
            if nt is not None and nt.location == node.id and nt.scope == scope:
                self.create[i] = None
                self._count(scope, -1)
                return
        for token in self.view.tokens.values():
            if token.location == node.id and token.scope == scope and token.id not in self.gone:
                self.kill(token)
                return

    def _parallel_arrival(self, node: Node, via: str, scope: str | None, *, dead: bool) -> bool | None:
        """A token (or, with DPE, a discard) reaches a parallel join, in O(1): one counter per incoming
        flow and a count of the flows that have something. When every flow has, the join fires,
        consuming one arrival per flow in one pass. Returns whether it fired; for a discard, ``None``
        (it waits), ``True`` (fires for real) or ``False`` (everything was discards: pass one on)."""
        base = f"{scope}:{node.id}"
        real_key, dead_key, satisfied_key = f"j:{base}:{via}", f"d:{base}:{via}", f"js:{base}"
        real, gone_dead = self.get(real_key, 0), self.get(dead_key, 0)
        satisfied = self.get(satisfied_key, 0) + (1 if real + gone_dead == 0 else 0)
        if satisfied < len(node.incoming):
            self.put(satisfied_key, satisfied)
            if dead:
                self.put(dead_key, gone_dead + 1)
                return None
            self.put(real_key, real + 1)
            self._park(node, scope)
            return False
        # Fire: the arrival in hand covers its own flow; take one from every other flow.
        any_real = not dead
        satisfied = waiting = 0
        for flow in node.incoming:
            fr, fd = self.get(f"j:{base}:{flow}", 0), self.get(f"d:{base}:{flow}", 0)
            if flow != via:
                if fr > 0:
                    fr -= 1
                    any_real = True
                else:
                    fd -= 1
            for key, value in ((f"j:{base}:{flow}", fr), (f"d:{base}:{flow}", fd)):
                if value > 0:
                    self.put(key, value)
                else:
                    self.drop(key)
            satisfied += 1 if fr + fd > 0 else 0
            waiting += fr
        if satisfied:
            self.put(satisfied_key, satisfied)
        else:
            self.drop(satisfied_key)
        if not waiting:
            self._unpark(node, scope)
        return any_real if dead else True

    def discard(self, flows: list[str], process: Process, scope: str | None) -> None:
        """Dead-path elimination: send a discard down each untaken flow until a join counts it (a no-op
        under strict semantics). A parallel join fires once every incoming flow delivered a token or a
        discard: for real if any token came, else it passes the discard on."""
        if not flows or not self.c.dpe(process):
            return
        pending, seen = list(flows), set()
        while pending:
            flow = pending.pop()
            if flow in seen:
                continue  # a dead loop is dead once
            seen.add(flow)
            node = process.nodes[process.flows[flow].target]
            if node.kind in (Kind.PARALLEL, Kind.INCLUSIVE) and len(node.incoming) > 1:
                fired = self._dead_arrival(process, node, flow, scope)
                if fired is True:
                    self.follow(node.outgoing, process, scope)
                elif fired is False:
                    pending.extend(node.outgoing)
            elif node.kind is not Kind.END:
                pending.extend(node.outgoing)

    def _dead_arrival(self, process: Process, node: Node, via: str, scope: str | None) -> bool | None:
        """A discard reaches a join: ``None`` (it waits), ``True`` (fires for real), ``False`` (passes the discard on)."""
        if node.kind is Kind.INCLUSIVE:
            # An OR-join needs no discards; only a wholly dead region passes one on.
            real: dict[str, int] = dict(self.get(f"j:{scope}:{node.id}", {}))
            return None if any(real.values()) or self._can_still_arrive(process, node, scope) else False
        return self._parallel_arrival(node, via, scope, dead=True)

    def _can_still_arrive(self, process: Process, node: Node, scope: str | None) -> bool:
        """OR-join: is there a live token in the scope (not parked here) from which ``node`` is reachable?"""
        upstream = self.c.upstream(process, node.id)
        for token in self.view.tokens.values():
            if token.id in self.gone or token.scope != scope or token.location == node.id:
                continue
            if token.location in upstream:
                return True
        return any(nt is not None and nt.scope == scope and nt.location in upstream for nt in self.create)

    def recheck_or_joins(self, process: Process, scope: str | None) -> None:
        """After tokens left a scope, an inclusive join there may no longer wait for anything. Only the
        joins listed as waiting in the scope (``oj:<scope>``) are looked at: O(1) when there are none."""
        for gateway_id in list(self.get(f"oj:{scope}", [])):
            key = f"j:{scope}:{gateway_id}"
            gateway = process.nodes.get(gateway_id)
            if gateway is None or not self.get(key):
                self._or_join_done(gateway_id, scope)
                continue
            if self._can_still_arrive(process, gateway, scope):
                continue
            self._unpark(gateway, scope)
            self.drop(key)
            self._or_join_done(gateway_id, scope)
            self.follow(self._inclusive(process, gateway), process, scope)

    # -- events -----------------------------------------------------------------------------------

    def _catch_waits(self, process: Process, node: Node, *, blocking: bool, key: str | None = None) -> list[WaitSpec]:
        waits = []
        if node.kind is Kind.RECEIVE and not node.events:
            return [WaitSpec(WaitKind.MESSAGE, name=node.name or node.id, key=key or node.id, blocking=blocking)]
        for ev in node.events:
            kind = _WAIT_KIND.get(ev.trigger)
            if kind is None:
                continue
            correlation = None
            if ev.correlation is not None:
                value = self.evaluate(ev.correlation, node.id)
                correlation = None if value is None else str(value)
            spec = WaitSpec(kind, name=ev.name or "", key=key or node.id, blocking=blocking, correlation=correlation)
            if ev.trigger is Trigger.TIMER and ev.timer is not None:
                try:
                    due = ev.timer.first_due(self.view.now, self.names())
                except ExpressionError as exc:
                    raise BpmnError(ErrorInfo("expression_error", exc.message, "ExpressionError", node.id)) from None
                spec = WaitSpec(kind, key=spec.key, blocking=blocking, due=due)
            elif ev.trigger is Trigger.CONDITIONAL and ev.condition is not None:
                # The text is for people; the navigator evaluates the compiled condition (condition_met).
                spec = WaitSpec(kind, key=spec.key, blocking=blocking, condition=ev.condition.text, form={"event": node.id})
            waits.append(spec)
        return waits

    def _throw(self, process: Process, node: Node, scope: str | None, loc: Mapping[str, Any]) -> list[str]:
        for ev in node.events:
            if ev.trigger is Trigger.LINK:
                return process.nodes[process.links[(node.scope, ev.name or "")]].outgoing
            if ev.trigger in (Trigger.SIGNAL, Trigger.MESSAGE):
                self.emit.append(Emit(_WAIT_KIND[ev.trigger], ev.name or node.id, self.payload()))
            elif ev.trigger is Trigger.ESCALATION:
                self.escalate(process, node, scope, ev.code)
            elif ev.trigger is Trigger.COMPENSATE and self.compensate(node, scope, ev.activity, ev.wait, loc):
                return []  # the token waits here for the handlers
        return node.outgoing

    def _end(self, process: Process, node: Node, scope: str | None, loc: Mapping[str, Any]) -> None:
        for ev in node.events:
            if ev.trigger is Trigger.COMPENSATE:
                self.compensate(node, scope, ev.activity, ev.wait, loc)
            elif ev.trigger is Trigger.CANCEL and scope is not None:
                self.cancel_transaction(scope)
            elif ev.trigger is Trigger.TERMINATE:
                self.terminate(scope)
            elif ev.trigger is Trigger.ERROR:
                self.throw_error(process, scope, ev.code, f"error end event {node.id!r}", node.id)
            elif ev.trigger is Trigger.ESCALATION:
                self.escalate(process, node, scope, ev.code)
            elif ev.trigger in (Trigger.SIGNAL, Trigger.MESSAGE):
                self.emit.append(Emit(_WAIT_KIND[ev.trigger], ev.name or node.id, self.payload()))

    def terminate(self, scope: str | None) -> None:
        if scope is None:
            self.complete = True
            return
        self.closed.add(scope)
        for token in list(self.view.tokens.values()):
            if token.scope == scope:
                self.kill(token)
        self._drop_pending(scope)

    def _drop_pending(self, sid: str) -> None:
        """Withdraw tokens this decision was about to create inside ``sid`` (and inside their scopes)."""
        scopes = {sid}
        for i, nt in enumerate(self.create):
            if nt is not None and nt.scope in scopes:
                self.create[i] = None
                if "host" not in nt.data:
                    self._count(nt.scope, -1)
                inner = nt.data.get("sid")
                if inner is not None:
                    scopes.add(inner)
                    self.new_containers.pop(inner, None)
                    self._forget_scope(inner)

    def end_scope(self, sid: str) -> None:
        """Interrupt a subprocess: its container token and everything inside, existing or pending."""
        index = self.new_containers.pop(sid, None)
        if index is not None:
            nt = self.create[index]
            self.create[index] = None
            if nt is not None:
                self._count(nt.scope, -1)
        else:
            holder = self.container_token(sid)
            if holder is not None:
                self.kill(holder)
        self._drop_pending(sid)
        self._forget_scope(sid)

    def _scope_node(self, sid: str) -> str:
        return self.get(f"s:{sid}", {}).get("node")

    def throw_error(self, process: Process, scope: str | None, code: str | None, message: str, element: str, token: Token | None = None, node: Node | None = None) -> None:
        """Route an error to the nearest matching error boundary: on the failing activity, then on each
        enclosing subprocess. Uncaught, it fails the run."""
        if node is not None and self._catch(process, node, scope, Trigger.ERROR, code, token=token):
            return
        sid = scope
        while True:
            if self._event_subprocess(sid, Trigger.ERROR, code):
                return
            if sid is None:
                break
            info = self.get(f"s:{sid}")
            if not info:
                break
            container = self.c.process_of(info["node"]).nodes[info["node"]]
            if self._catch(self.c.process_of(info["node"]), container, info.get("parent"), Trigger.ERROR, code, sid=sid):
                return
            sid = info.get("parent")
        raise BpmnError(ErrorInfo(code or "error", message, "BpmnError", element))

    def escalate(self, process: Process, node: Node, scope: str | None, code: str | None) -> None:
        """Escalations go to the nearest matching boundary on an enclosing subprocess; uncaught ones do nothing."""
        sid = scope
        while True:
            if self._event_subprocess(sid, Trigger.ESCALATION, code):
                return
            if sid is None:
                return
            info = self.get(f"s:{sid}")
            if not info:
                return
            owner = self.c.process_of(info["node"])
            if self._catch(owner, owner.nodes[info["node"]], info.get("parent"), Trigger.ESCALATION, code, sid=sid):
                return
            sid = info.get("parent")

    def _catch(
        self, process: Process, activity: Node, scope: str | None, trigger: Trigger, code: str | None,
        *, token: Token | None = None, sid: str | None = None,
    ) -> bool:
        """Take the first boundary of ``activity`` catching ``trigger``/``code``; interrupting ones end
        the activity (its token, or the subprocess ``sid`` with everything inside)."""
        for bid in activity.boundaries:
            boundary = process.nodes[bid]
            for ev in boundary.events:
                if ev.trigger is trigger and (ev.code is None or ev.code == code):
                    if boundary.interrupting:
                        multi = self._multi_of(token, sid)
                        if multi is not None:
                            self.end_multi(activity, scope, multi)
                        elif sid is not None:
                            self.end_scope(sid)
                        elif token is not None:
                            self.kill(token)
                    if trigger is Trigger.ERROR:
                        self.variables["error"] = {"code": code}
                    self.follow(boundary.outgoing, process, scope)
                    return True
        return False

    # -- multi-instance bodies ---------------------------------------------------------------------

    def _multi_of(self, token: Token | None, sid: str | None) -> str | None:
        """The multi-instance an instance token (or the subprocess instance ``sid``) belongs to."""
        holder = self._container(sid) if sid is not None else token
        return holder.data.get("mi") if holder is not None else None

    def end_multi(self, node: Node, scope: str | None, key: str) -> None:
        """Interrupt a whole multi-instance activity: its body token, every instance, its state."""
        for token in list(self.view.tokens.values()):
            if token.location == node.id and token.scope == scope and key in (token.data.get("mi"), token.data.get("mib")):
                self.kill(token)
        for i, nt in enumerate(self.create):
            if nt is not None and nt.location == node.id and nt.scope == scope and key in (nt.data.get("mi"), nt.data.get("mib")):
                self._unmake(i)
        self.drop(f"mi:{scope}:{key}")

    def interrupt(self, host: Token) -> None:
        """An interrupting boundary event fired on ``host``: an activity, or a multi-instance body."""
        if "mib" in host.data:
            process = self.c.process_of(host.location)
            self.end_multi(process.nodes[host.location], host.scope, host.data["mib"])
        else:
            self.kill(host)

    # -- compensation and transactions ---------------------------------------------------------------

    def record_compensable(self, node: Node, scope: str | None, loc: Mapping[str, Any], inner: list[Any] | None) -> None:
        """Remember a completed activity instance that can be compensated: it has a handler, or it is
        a subprocess in which such activities completed (``inner``). Kept per scope, in completion
        order; nothing is stored for activities without compensation."""
        if node.compensation is None and not inner:
            return
        entry: dict[str, Any] = {"n": node.id}
        if loc:
            entry["l"] = dict(loc)
        if inner:
            entry["in"] = inner
        key = f"c:{scope}"
        self.put(key, [*self.get(key, []), entry])

    def _compensation_scope(self, scope: str | None) -> str | None:
        """Compensation thrown in an event subprocess compensates the scope the event subprocess is in."""
        while scope is not None:
            info = self.get(f"s:{scope}") or {}
            node_id = info.get("node")
            if node_id is None or info.get("comp") or not self.c.process_of(node_id).nodes[node_id].triggered_by_event:
                break  # (a compensation event subprocess compensates what completed in the subprocess it handles)
            scope = info.get("parent")
        return scope

    def _handlers(self, entries: list[Any]) -> list[list[Any]]:
        """The handlers compensating ``entries``, most recently completed first. A subprocess without a
        handler of its own is compensated by compensating what completed inside it."""
        queue: list[list[Any]] = []
        pending = list(entries)
        while pending:
            entry = pending.pop()
            node = self.c.process_of(entry["n"]).nodes[entry["n"]]
            if node.compensation is not None:
                # A compensation event subprocess handles what completed inside its subprocess.
                handler = node.compensation
                inner = entry.get("in") if self.c.process_of(handler).nodes[handler].triggered_by_event else None
                queue.append([handler, entry.get("l") or {}, *([inner] if inner else [])])
            else:
                pending.extend(entry.get("in") or ())
        return queue

    def compensate(self, node: Node, scope: str | None, activity: str | None, wait: bool, loc: Mapping[str, Any]) -> bool:
        """Compensation thrown at ``node``: run the handlers of the completed activities (``activity``
        only, or all) of the scope, one at a time, most recent first; each is compensated once. Returns
        whether the token waits at ``node`` for them (``waitForCompletion``)."""
        key = f"c:{self._compensation_scope(scope)}"
        entries = list(self.get(key, []))
        chosen = [e for e in entries if activity is None or e["n"] == activity]
        if not chosen:
            return False
        left = [e for e in entries if activity is not None and e["n"] != activity]
        if left:
            self.put(key, left)
        else:
            self.drop(key)
        queue = self._handlers(chosen)
        if not queue:
            return False
        gid = self._start_handlers(queue, scope, {"throw": node.id} if wait else None)
        if wait:
            self.spawn(node.id, scope, data={"cw": gid}, locals_=loc, waits=[WaitSpec(WaitKind.INTERNAL, key=f"compensation:{gid}")])
        return wait

    def _start_handlers(self, queue: list[list[Any]], scope: str | None, then: dict[str, Any] | None) -> str:
        number = self.get("cg#", 0) + 1
        self.put("cg#", number)
        gid = f"cg{number}"
        self.put(f"cg:{scope}:{gid}", {"q": queue[1:], "then": then})
        self._run_handler(queue[0], scope, gid)
        return gid

    def _run_handler(self, item: list[Any], scope: str | None, gid: str) -> None:
        process = self.c.process_of(item[0])
        data = {"comp": gid, "cin": item[2]} if len(item) > 2 else {"comp": gid}
        self.instance(process, process.nodes[item[0]], scope, item[1] or EMPTY, data)

    def handler_done(self, gid: str, scope: str | None) -> None:
        """A compensation handler completed: run the next one, or go on where compensation was thrown."""
        key = f"cg:{scope}:{gid}"
        group = self.get(key)
        if not group:
            return  # its scope was cancelled meanwhile
        if group["q"]:
            item, *rest = group["q"]
            self.put(key, {**group, "q": rest})
            self._run_handler(item, scope, gid)
            return
        self.drop(key)
        then = group.get("then") or {}
        if "throw" in then:
            waiter = next((t for t in self.view.tokens.values() if t.data.get("cw") == gid and t.id not in self.gone), None)
            if waiter is not None:
                self.kill(waiter)
                process = self.c.process_of(then["throw"])
                node = process.nodes[then["throw"]]
                if node.kind is Kind.THROW:
                    self.follow(node.outgoing, process, waiter.scope, waiter.locals)
        elif "cancel" in then:
            self._finish_cancel(then["cancel"])

    def cancel_transaction(self, sid: str) -> None:
        """A cancel end event: everything inside the transaction stops, what completed in it is
        compensated, then the transaction's cancel boundary event is taken."""
        self._clear_scope(sid)
        self.closed.add(sid)
        queue = self._handlers(list(self.get(f"c:{sid}", [])))
        self.drop(f"c:{sid}")
        if queue:
            self._start_handlers(queue, sid, {"cancel": sid})
        else:
            self._finish_cancel(sid)

    def _finish_cancel(self, sid: str) -> None:
        info = self.get(f"s:{sid}") or {}
        process = self.c.process_of(info["node"])
        transaction = process.nodes[info["node"]]
        loc = self._container_locals(sid)
        multi = self._multi_of(None, sid)
        if multi is not None:
            self.end_multi(transaction, info.get("parent"), multi)  # one instance cancelled cancels them all
        else:
            self.end_scope(sid)
        for bid in transaction.boundaries:
            if any(ev.trigger is Trigger.CANCEL for ev in process.nodes[bid].events):
                self.follow(process.nodes[bid].outgoing, process, info.get("parent"), loc)
                return

    # -- event subprocesses -------------------------------------------------------------------------

    def _scope_body(self, sid: str | None) -> tuple[Process, str | None]:
        """The process and container whose event subprocesses belong to scope ``sid``."""
        if sid is None:
            return self.c.defs.processes[self.c.defs.main], None
        node_id = self.get(f"s:{sid}", {}).get("node")
        process = self.c.process_of(node_id)
        node = process.nodes[node_id]
        if node.kind is Kind.CALL:
            return self.c.defs.processes[node.called], None
        return process, node_id

    def open_hosts(self, body: Process, container: str | None, sid: str | None) -> None:
        """A scope opened: its message, timer, signal and conditional event subprocesses start listening,
        each through a host token that keeps no scope alive."""
        for sub_process in self.c.event_subprocesses(body, container):
            start = body.nodes[sub_process.starts[0]] if sub_process.starts else None
            if start is None or not start.events or start.events[0].trigger not in _WAIT_KIND:
                continue
            waits = self._catch_waits(body, start, blocking=False, key=f"es:{sub_process.id}")
            self.spawn(
                sub_process.id, sid, data={"host": start.id},
                waits=[WaitSpec(WaitKind.INTERNAL, key=f"host:{sub_process.id}"), *waits], counted=False,
            )

    def trigger_event_subprocess(self, host: Token, wait_spec: WaitSpec, next_due: float | None) -> None:
        """A host's trigger fired: run its event subprocess (after clearing the scope, if interrupting)."""
        process = self.c.process_of(host.location)
        sub_process = process.nodes[host.location]
        start = process.nodes[sub_process.starts[0]]
        if start.interrupting:
            self._clear_scope(host.scope)
        elif next_due is not None or wait_spec.kind is not WaitKind.TIMER:
            # Non-interrupting: keep listening (messages and signals again; timer cycles at the next due).
            spec = WaitSpec(wait_spec.kind, wait_spec.name, False, wait_spec.key, wait_spec.correlation, next_due, None, wait_spec.condition, token=host.id)
            self.waits.append(spec)
        self.instance(process, sub_process, host.scope, EMPTY, EMPTY)

    def _event_subprocess(self, sid: str | None, trigger: Trigger, code: str | None) -> bool:
        """An error or escalation in scope ``sid``: the scope's matching event subprocess, if any, runs."""
        body, container = self._scope_body(sid)
        for sub_process in self.c.event_subprocesses(body, container):
            start = body.nodes[sub_process.starts[0]] if sub_process.starts else None
            if start is None or not start.events:
                continue
            ev = start.events[0]
            if ev.trigger is trigger and (ev.code is None or ev.code == code):
                if start.interrupting or trigger is Trigger.ERROR:
                    self._clear_scope(sid)
                if trigger is Trigger.ERROR:
                    self.variables["error"] = {"code": code}
                self.instance(body, sub_process, sid, EMPTY, EMPTY)
                return True
        return False

    def _clear_scope(self, sid: str | None) -> None:
        """Cancel everything inside a scope (hosts included), but not its container token."""
        for token in list(self.view.tokens.values()):
            if token.scope == sid and token.id not in self.gone:
                self.kill(token)
        for i, nt in enumerate(self.create):
            if nt is not None and nt.scope == sid:
                self._unmake(i)

    def _unmake(self, index: int) -> None:
        """Withdraw a token this decision was about to create (and, for a container, its inside)."""
        nt = self.create[index]
        self.create[index] = None
        if nt is None:
            return
        if "host" not in nt.data:
            self._count(nt.scope, -1)
        inner = nt.data.get("sid")
        if inner is not None:
            self.new_containers.pop(inner, None)
            self._drop_pending(inner)
            self._forget_scope(inner)

    def _container(self, sid: str) -> Token | NewToken | None:
        """The container token of scope ``sid``: live, or made in this decision."""
        holder = self.container_token(sid)
        if holder is not None:
            return holder
        index = self.new_containers.get(sid)
        return self.create[index] if index is not None else None

    def container_token(self, sid: str) -> Token | None:
        node = self._scope_node(sid)
        return next((t for t in self.view.tokens.values() if t.location == node and t.data.get("sid") == sid), None)

    # -- activities ---------------------------------------------------------------------------------

    def enter_activity(self, process: Process, node: Node, scope: str | None, loc: Mapping[str, Any], data: Mapping[str, Any] = EMPTY) -> None:
        from vrooli_bpmn.loops import enter_looped

        if node.loop is not None and not data:
            enter_looped(self, process, node, scope, loc)
            return
        self.instance(process, node, scope, loc, data)

    def boundary_waits(self, process: Process, node: Node) -> list[WaitSpec]:
        return [w for bid in node.boundaries for w in self._catch_waits(process, process.nodes[bid], blocking=False, key=f"b:{bid}")]

    def instance(self, process: Process, node: Node, scope: str | None, loc: Mapping[str, Any], data: Mapping[str, Any]) -> None:
        """One execution of an activity: a token there, with its boundary events attached (to the
        multi-instance body instead, for an instance of one)."""
        waits = [] if "mi" in data else self.boundary_waits(process, node)
        if node.kind is Kind.RECEIVE:
            waits = self._catch_waits(process, node, blocking=True) + waits
        if self.c.inner_process(node) is None:
            self.spawn(node.id, scope, data=data, locals_=loc, waits=waits)
        else:
            # Entering a subprocess is a step of its own (so history shows it); its inside opens when
            # that token moves on (``open_container``).
            self.spawn(node.id, scope, data={**data, "enter": True}, locals_=loc)

    def open_container(self, process: Process, node: Node, scope: str | None, loc: Mapping[str, Any], data: Mapping[str, Any]) -> None:
        """Park the subprocess's container token (with its boundary events) and start its inside."""
        inner = self.c.inner_process(node)
        assert inner is not None
        waits = [] if "mi" in data else self.boundary_waits(process, node)
        compensated = data.get("cin")
        data = {k: v for k, v in data.items() if k not in ("enter", "cin")}
        sid = f"s{self.get('sid#', 0) + 1}"
        self.put("sid#", self.get("sid#", 0) + 1)
        self.put(f"s:{sid}", {"node": node.id, "parent": scope, **({"comp": True} if "comp" in data and node.triggered_by_event else {})})
        if compensated:
            self.put(f"c:{sid}", compensated)  # a compensation event subprocess compensates these
        index = self.spawn(node.id, scope, data={**data, "sid": sid}, locals_=loc, waits=[WaitSpec(WaitKind.INTERNAL, key=f"scope:{node.id}"), *waits])
        self.new_containers[sid] = index
        self.touched.add(sid)
        body, starts = inner
        self.open_hosts(body, node.id if node.kind.is_container else None, sid)
        if node.adhoc is not None:
            self._open_adhoc(body, node, sid, loc)
        elif starts:
            for start in starts:
                self.follow(body.nodes[start].outgoing, body, sid, loc)
        else:
            for child in self.c.entry_nodes(body, node):
                self.follow_node(body, child, sid, loc)

    # -- ad-hoc subprocesses -----------------------------------------------------------------------

    def _open_adhoc(self, body: Process, node: Node, sid: str, loc: Mapping[str, Any]) -> None:
        """Activate the inner activities an ad-hoc subprocess asks for (its active-elements expression,
        else every inner activity without incoming flows): all at once, or one after another."""
        adhoc = node.adhoc
        assert adhoc is not None
        allowed = self.c.entry_nodes(body, node)
        if adhoc.active is None:
            chosen = allowed
        else:
            value = self.evaluate(adhoc.active, node.id)
            if isinstance(value, str) or not isinstance(value, (list, tuple)):
                raise BpmnError(ErrorInfo("adhoc_error", f"ad-hoc subprocess {node.id!r}: the active elements must be a list of element ids, got {value!r}", "BpmnError", node.id))
            chosen = [str(v) for v in value]
            unknown = [v for v in chosen if v not in allowed]
            if unknown:
                raise BpmnError(ErrorInfo("adhoc_error", f"ad-hoc subprocess {node.id!r} cannot activate {', '.join(map(repr, unknown))}: not an inner element without incoming flows", "BpmnError", node.id))
        if adhoc.sequential and len(chosen) > 1:
            self.put(f"ah:{sid}", chosen[1:])
            chosen = chosen[:1]
        for child in chosen:
            self.follow_node(body, child, sid, loc)

    def _adhoc_progress(self, process: Process, node: Node, sid: str) -> None:
        """After something completed inside an ad-hoc subprocess: check its completion condition
        (cancelling what still runs, if asked), else start the next activity of a sequential one."""
        adhoc = node.adhoc
        assert adhoc is not None
        if sid in self.finished_in and adhoc.completion is not None and self.evaluate(adhoc.completion, node.id):
            self.drop(f"ah:{sid}")
            if adhoc.cancel_remaining:
                self._clear_scope(sid)
        queue = self.get(f"ah:{sid}")
        if queue and self.get(f"n:{sid}", 0) <= 0:
            if len(queue) > 1:
                self.put(f"ah:{sid}", queue[1:])
            else:
                self.drop(f"ah:{sid}")
            self.follow_node(process, queue[0], sid, self._container_locals(sid))

    def _container_locals(self, sid: str) -> Mapping[str, Any]:
        holder = self._container(sid)
        return holder.locals if holder is not None else EMPTY

    def follow_node(self, process: Process, node_id: str, scope: str | None, loc: Mapping[str, Any]) -> None:
        for nxt in self.arrive(process, process.nodes[node_id], None, scope, loc):
            self.follow([nxt], process, scope, loc)

    # -- finishing --------------------------------------------------------------------------------

    def settle(self, process_of: Any) -> None:
        """Close every scope whose inside is done (its container activity completes), innermost first."""
        while self.touched:
            sid = self.touched.pop()
            if sid is None:
                if self.get("n:None", 0) <= 0 and not self.complete:
                    self._clear_scope(None)  # only event-subprocess hosts can be left: withdraw them
                continue
            info = self.get(f"s:{sid}")
            if info:
                owner = process_of(info["node"])
                if owner.nodes[info["node"]].adhoc is not None:
                    self._adhoc_progress(owner, owner.nodes[info["node"]], sid)
            if not info or self.get(f"n:{sid}", 0) > 0:
                if info:
                    self.recheck_or_joins(process_of(info["node"]), sid)
                continue
            if any(k.startswith(f"j:{sid}:") for k in (*self.view.state, *self.state) if self.get(k)):
                continue  # a join inside still waits: strict semantics stall here, like Camunda
            node = process_of(info["node"])
            container = node.nodes[info["node"]]
            inner = self.get(f"c:{sid}")  # read before the scope's state is forgotten
            index = self.new_containers.pop(sid, None)
            holder = self.container_token(sid) if index is None else None
            if index is not None:
                nt = self.create[index]
                self.create[index] = None
                self._count(info.get("parent"), -1)
                self._drop_pending(sid)
                data, loc = (nt.data, nt.locals) if nt is not None else (EMPTY, EMPTY)
            elif holder is not None:
                self.kill(holder)
                data, loc = holder.data, holder.locals
            else:
                continue
            self._forget_scope(sid)
            self.finished_in.add(info.get("parent"))
            from vrooli_bpmn.loops import completed

            completed(self, node, container, info.get("parent"), data, loc, None, inner=inner)
            if info.get("parent") is None:
                self.recheck_or_joins(node, None)

    def decision(self) -> Decision:
        return Decision(
            create=tuple(nt for nt in self.create if nt is not None),
            cancel=tuple(self.cancel),
            waits=tuple(self.waits),
            variables=self.variables or EMPTY,
            state=self.state or EMPTY,
            forget=tuple(k for k in self.forget if k in self.view.state),
            complete=self.complete,
            emit=tuple(self.emit),
        )
