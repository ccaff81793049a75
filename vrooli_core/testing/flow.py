"""The flow navigator: a small routine format (TOML or JSON) used to test the engine itself, by the
conformance suites, and by the examples.

A flow names its ``start`` step(s) and its ``steps``. Each step may have:

``kind``        tool | human | subroutine | noop | code | api | model (default noop)
``tool``, ``args``   the tool a ``tool`` step calls, and constant arguments
``in``, ``out`` IO mapping: ``in = {param = "variable.path"}``, ``out = {variable = "output.path"}``
``next``        a step id, or a list of them (a parallel split)
``join``        the number of arrivals this step waits for (a parallel join)
``choose``      ``[{if = "expr", next = "id"}, …, {else = "id"}]``: the first true condition wins; when
                none is true and there is no ``else``, or with ``ask = true``, the targets are offered
                as a path choice (the engine's path policy answers)
``wait``        ``{message = "name", correlation = "var"}`` | ``{signal = "name"}`` |
                ``{timer = seconds}`` | ``{condition = "expr"}``: the token waits there first
``boundary``    ``{timer = seconds | message = … | signal = …, next = "id", interrupting = true}``: an
                event attached to the step while it runs or waits
``on_error``    a step id that failures of this step go to (with ``error`` set); otherwise the run fails
``end``         ``"terminate"`` ends the run at once; ``error = "code"`` fails it with that code
``routine``, ``version``   the routine a ``subroutine`` step runs
``code``, ``limits``, ``network``   a ``code`` step's Python source (defining ``main(inputs)``), its
                limits (``{cpu_seconds = 5, memory_mb = 256, wall_seconds = 10}``) and network mode
``model``, ``prompt``, ``system``, ``persona``, ``tools``, ``stream``, ``script``   a ``model`` step's
                settings, for the model strategies (vrooli-litellm)
``cache``       ``true`` or ``{ttl = seconds}``: the step's result is cached (``vrooli_core.engine.cache``)
``retry``       ``{max_attempts = 3, backoff = 0.0}``; ``timeout`` seconds; ``title``, ``options``,
                ``assignee``, ``form`` for human steps
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, ClassVar

from vrooli_core.engine.navigator import Navigator, RunView
from vrooli_core.errors import RoutineError
from vrooli_core.expressions import check, evaluate
from vrooli_core.model import (
    Decision,
    ErrorInfo,
    Graph,
    IOMapping,
    NewToken,
    Outcome,
    OutcomeStatus,
    RetryPolicy,
    RoutineDef,
    RoutineSource,
    StepDef,
    StepKind,
    Token,
    Wait,
    WaitKind,
    WaitSpec,
)
from vrooli_core.model.empty import EMPTY

if TYPE_CHECKING:
    from vrooli_core.picture import Picture

_STEP_KEYS = {
    "kind", "name", "tool", "args", "in", "out", "next", "join", "choose", "ask", "wait", "boundary",
    "on_error", "end", "error", "routine", "version", "retry", "timeout", "title", "options", "assignee",
    "form", "description", "strategy", "config", "output_schema", "code", "limits", "network",
    "model", "prompt", "system", "persona", "tools", "stream", "script", "cache",
}
#: Step keys copied into ``StepDef.config`` as they are.
_CONFIG_KEYS = (
    "tool", "args", "routine", "version", "options", "assignee", "form", "description", "output_schema",
    "code", "limits", "network", "model", "prompt", "system", "persona", "tools", "stream", "script", "cache",
)
_TOP_KEYS = {"id", "name", "version", "description", "start", "steps", "inputs", "outputs"}


class FlowNavigator(Navigator):
    name: ClassVar[str] = "flow"
    suffixes: ClassVar[tuple[str, ...]] = (".flow.toml", ".flow.json")

    # -- loading ------------------------------------------------------------------------------

    def load(self, source: RoutineSource) -> Graph:
        data = _parse(source)
        where = source.path
        lines = _LineIndex(source.text)
        problems: list[RoutineError] = []
        unknown = sorted(set(data) - _TOP_KEYS)
        for key in unknown:
            problems.append(RoutineError(f"unsupported top-level key {key!r}", source=where, line=lines(key)))
        steps_raw = data.get("steps")
        if not isinstance(steps_raw, Mapping) or not steps_raw:
            raise RoutineError("a flow needs a [steps] table with at least one step", source=where)
        start = data.get("start", next(iter(steps_raw)))
        starts = [start] if isinstance(start, str) else list(start)
        steps: dict[str, StepDef] = {}
        for sid, raw in steps_raw.items():
            line = lines(sid)
            if not isinstance(raw, Mapping):
                problems.append(RoutineError("a step must be a table", element=sid, line=line, source=where))
                continue
            for key in sorted(set(raw) - _STEP_KEYS):
                problems.append(RoutineError(f"unsupported step key {key!r}", element=sid, line=line, source=where))
            try:
                steps[sid] = _step(sid, raw, line)
            except RoutineError as exc:
                problems.append(RoutineError(exc.message, element=sid, line=line, source=where))
        for sid, raw in steps_raw.items():
            if isinstance(raw, Mapping):
                for target, what in _targets(raw):
                    if target not in steps_raw:
                        problems.append(RoutineError(f"{what} refers to unknown step {target!r}", element=sid, line=lines(sid), source=where))
                for expr in _expressions(raw):
                    try:
                        check(expr, element=sid)
                    except RoutineError as exc:
                        problems.append(RoutineError(exc.message, element=sid, line=lines(sid), source=where))
        for s in starts:
            if s not in steps_raw:
                problems.append(RoutineError(f"start step {s!r} does not exist", source=where, line=lines("start")))
        if problems:
            if len(problems) == 1:
                raise problems[0]
            raise RoutineError(f"{len(problems)} problems in flow", source=where, problems=problems)
        routine = RoutineDef(
            id=str(data.get("id") or _stem(source.path) or "flow"),
            format=self.name,
            content_hash=source.content_hash,
            version=str(data.get("version", "")),
            name=str(data.get("name", "")),
            description=str(data.get("description", "")),
            inputs=dict(data.get("inputs") or {}),
            outputs=dict(data.get("outputs") or {}),
        )
        return Graph(routine=routine, steps=steps, data={"start": starts, "steps": dict(steps_raw)})

    # -- moving -------------------------------------------------------------------------------

    def start(self, graph: Graph, view: RunView) -> Decision:
        return _Move(graph, view).enter(graph.data["start"]).decision()

    def next(self, graph: Graph, view: RunView, token: Token, outcome: Outcome) -> Decision:
        raw = graph.data["steps"][token.location]
        move = _Move(graph, view)
        if outcome.status is OutcomeStatus.FAILED:
            if "on_error" not in raw:
                return Decision(error=outcome.error)
            err = outcome.error
            move.variables["error"] = {"code": err.code, "message": err.message} if err else {}
            return move.enter([raw["on_error"]]).decision()
        if "choose" in raw and isinstance(outcome.output, str) and outcome.trigger is not None:
            return move.enter([outcome.output]).decision()  # a path choice was answered
        if "error" in raw:
            return Decision(error=ErrorInfo(code=str(raw["error"]), message=f"flow ended with error {raw['error']!r}", element=token.location))
        if raw.get("end") == "terminate":
            return Decision(complete=True)
        return move.enter(_as_list(raw.get("next"))).decision()

    def on_event(self, graph: Graph, view: RunView, wait: Wait, outcome: Outcome) -> Decision:
        raw = graph.data["steps"][view.tokens[wait.token].location] if wait.token in view.tokens else None
        boundary = (raw or {}).get("boundary")
        if not boundary:
            return Decision()
        move = _Move(graph, view)
        if boundary.get("interrupting", True):
            move.cancel.append(wait.token)
        return move.enter([boundary["next"]]).decision()


    # -- drawing ------------------------------------------------------------------------------

    def picture(self, graph: Graph) -> Picture:
        """Steps as nodes; ``next``, ``choose``, ``boundary`` and ``on_error`` targets as edges."""
        from vrooli_core.picture import Picture, PictureEdge, PictureNode

        steps: Mapping[str, Any] = graph.data["steps"]
        entered = {target for raw in steps.values() for target, _ in _drawn_edges(raw)}
        nodes, edges = [], []
        for sid, raw in steps.items():
            kind, detail = _drawn_kind(graph.steps[sid], raw, starts=sid in graph.data["start"] and sid not in entered)
            nodes.append(PictureNode(sid, graph.steps[sid].name or sid, kind, detail=detail))
            edges += [PictureEdge(f"{sid}->{t}#{n}", sid, t, label) for n, (t, label) in enumerate(_drawn_edges(raw))]
        return Picture(tuple(nodes), tuple(edges), title=graph.routine.name or graph.routine.id)


def _drawn_kind(step: StepDef, raw: Mapping[str, Any], *, starts: bool) -> tuple[str, str]:
    """A step's shape in a picture, and its marker."""
    if step.kind is not StepKind.NOOP:
        return {StepKind.HUMAN: "human", StepKind.SUBROUTINE: "subprocess"}.get(step.kind, "task"), ""
    if "choose" in raw:
        return "gateway", "X"
    if "join" in raw or len(_as_list(raw.get("next"))) > 1:
        return "gateway", "+"
    if "wait" in raw:
        return "event", ""
    if "error" in raw or raw.get("end") or not _targets(raw):
        return "end", ""
    return ("start" if starts else "task"), ""


def _drawn_edges(raw: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(target, label) of every way out of a step."""
    found = [(t, "") for t in _as_list(raw.get("next"))]
    found += [(_option(o), "else" if "else" in o else str(o.get("if", ""))) for o in raw.get("choose") or ()]
    boundary = raw.get("boundary")
    if isinstance(boundary, Mapping) and "next" in boundary:
        trigger = next((f"{k} {boundary[k]}" for k in ("timer", "message", "signal", "condition") if k in boundary), "")
        found.append((str(boundary["next"]), trigger or "boundary"))
    if "on_error" in raw:
        found.append((str(raw["on_error"]), "on error"))
    return found


class _Move:
    """Builds one decision: entering steps resolves joins and exclusive choices on the way."""

    def __init__(self, graph: Graph, view: RunView) -> None:
        self.steps: Mapping[str, Any] = graph.data["steps"]
        self.view = view
        self.create: list[NewToken] = []
        self.state: dict[str, Any] = {}
        self.forget: list[str] = []
        self.variables: dict[str, Any] = {}
        self.cancel: list[str] = []

    def enter(self, targets: list[str]) -> _Move:
        pending = list(reversed(targets))
        while pending:  # a worklist, not recursion: chains of choices stay flat
            target = pending.pop()
            raw = self.steps[target]
            if "join" in raw:
                key = f"join:{target}"
                count = self.state.get(key, self.view.state.get(key, 0)) + 1
                if count < int(raw["join"]):
                    self.state[key] = count
                    continue
                self.state.pop(key, None)
                self.forget.append(key)
            if "choose" in raw:
                chosen = None if raw.get("ask") else self._choose(target, raw)
                if chosen is not None:
                    pending.append(chosen)
                    continue
                options = tuple(_option(o) for o in raw["choose"])
                self.create.append(NewToken(target, wait=WaitSpec(WaitKind.CHOICE, name=raw.get("title", target), options=options, key=target)))
                continue
            waits = [_wait_spec(raw["wait"], target, self.view, self.variables)] if "wait" in raw else []
            if "boundary" in raw:
                waits.append(_wait_spec(raw["boundary"], f"boundary:{target}", self.view, self.variables, blocking=False))
            self.create.append(NewToken(target, wait=waits[0], also_wait=tuple(waits[1:])) if waits else NewToken(target))
        return self

    def _choose(self, target: str, raw: Mapping[str, Any]) -> str | None:
        names = {**self.view.variables, **self.variables}
        for option in raw["choose"]:
            if "else" in option:
                return str(option["else"])
            if evaluate(option["if"], names, element=target):
                return str(option["next"])
        return None

    def decision(self) -> Decision:
        return Decision(
            create=tuple(self.create),
            cancel=tuple(self.cancel),
            variables=self.variables or EMPTY,
            state=self.state or EMPTY,
            forget=tuple(k for k in self.forget if k in self.view.state),
        )


def _wait_spec(raw: Mapping[str, Any], key: str, view: RunView, written: Mapping[str, Any], blocking: bool = True) -> WaitSpec:
    if "message" in raw:
        corr = raw.get("correlation")
        value = None if corr is None else {**view.variables, **written}.get(corr, corr)
        return WaitSpec(WaitKind.MESSAGE, name=raw["message"], correlation=None if value is None else str(value), key=key, blocking=blocking)
    if "signal" in raw:
        return WaitSpec(WaitKind.SIGNAL, name=raw["signal"], key=key, blocking=blocking)
    if "timer" in raw:
        return WaitSpec(WaitKind.TIMER, delay=float(raw["timer"]), key=key, blocking=blocking)
    return WaitSpec(WaitKind.CONDITION, condition=raw["condition"], key=key, blocking=blocking)


def _step(sid: str, raw: Mapping[str, Any], line: int | None) -> StepDef:
    try:
        kind = StepKind(raw.get("kind", "noop"))
    except ValueError:
        raise RoutineError(f"unsupported step kind {raw.get('kind')!r}") from None
    if "wait" in raw:
        w = raw["wait"]
        if not isinstance(w, Mapping) or not ({"message", "signal", "timer", "condition"} & set(w)):
            raise RoutineError("wait needs one of message, signal, timer, condition")
    if "boundary" in raw and "next" not in raw["boundary"]:
        raise RoutineError("boundary needs a next step")
    if "join" in raw and (not isinstance(raw["join"], int) or raw["join"] < 1):
        raise RoutineError("join must be a positive number of arrivals")
    if kind is StepKind.TOOL and not raw.get("tool"):
        raise RoutineError("a tool step needs a tool")
    if kind is StepKind.SUBROUTINE and not raw.get("routine"):
        raise RoutineError("a subroutine step needs a routine")
    if "code" in raw and not isinstance(raw["code"], str):
        raise RoutineError("code must be a string of Python source")
    config = dict(raw.get("config") or {})
    for key in _CONFIG_KEYS:
        if key in raw:
            config[key] = raw[key]
    retry = raw.get("retry") or {}
    try:
        retry_policy = RetryPolicy(int(retry.get("max_attempts", 1)), float(retry.get("backoff", 0.0)), tuple(retry.get("retry_on", ())))
    except (TypeError, ValueError) as exc:
        raise RoutineError(f"invalid retry: {exc}") from None
    return StepDef(
        id=sid,
        kind=kind,
        name=str(raw.get("title") or raw.get("name") or ""),
        strategy=raw.get("strategy"),
        config=config,
        io=IOMapping(inputs=raw.get("in"), outputs=raw.get("out")),
        timeout=raw.get("timeout"),
        retry=retry_policy,
        line=line,
    )


def _targets(raw: Mapping[str, Any]) -> list[tuple[str, str]]:
    found = [(t, "next") for t in _as_list(raw.get("next"))]
    found += [(_option(o), "choose") for o in raw.get("choose") or ()]
    if "on_error" in raw:
        found.append((raw["on_error"], "on_error"))
    if isinstance(raw.get("boundary"), Mapping) and "next" in raw["boundary"]:
        found.append((raw["boundary"]["next"], "boundary"))
    return found


def _expressions(raw: Mapping[str, Any]) -> list[str]:
    found = [o["if"] for o in raw.get("choose") or () if "if" in o]
    if isinstance(raw.get("wait"), Mapping) and "condition" in raw["wait"]:
        found.append(raw["wait"]["condition"])
    return found


def _option(option: Mapping[str, Any]) -> str:
    return str(option.get("next", option.get("else")))


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _parse(source: RoutineSource) -> dict[str, Any]:
    text = source.text
    is_json = (source.path or "").endswith(".json") or text.lstrip().startswith("{")
    try:
        data = json.loads(text) if is_json else tomllib.loads(text)
    except json.JSONDecodeError as exc:
        raise RoutineError(f"invalid JSON: {exc.msg}", line=exc.lineno, source=source.path) from None
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise RoutineError(f"invalid TOML: {exc}", line=int(match.group(1)) if match else None, source=source.path) from None
    if not isinstance(data, dict):
        raise RoutineError("a flow must be a table/object", source=source.path)
    return data


class _LineIndex:
    """Source lines of step tables and keys, found in one pass (a flow may have 100,000 steps)."""

    _PATTERN = re.compile(r'^\s*(?:\[steps\.("?)([^\]"]+)\1\]|"([^"]+)"\s*:|([A-Za-z_][\w-]*)\s*=)', re.M)

    def __init__(self, text: str) -> None:
        self._text = text
        self._index: dict[str, int] | None = None

    def __call__(self, key: str) -> int | None:
        if self._index is None:
            index: dict[str, int] = {}
            line, pos = 1, 0
            for match in self._PATTERN.finditer(self._text):
                line += self._text.count("\n", pos, match.start())
                pos = match.start()
                name = match.group(2) or match.group(3) or match.group(4)
                index.setdefault(name, line)
            self._index = index
        return self._index.get(key)


def _stem(path: str | None) -> str | None:
    if not path:
        return None
    name = PurePath(path).name
    for suffix in FlowNavigator.suffixes:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return PurePath(path).stem
