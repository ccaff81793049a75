"""The ``.steps.txt`` format: one step per line, run in order.

::

    # a comment; blank lines are ignored
    greet: greet name=$name
    count: word_count text=$greeting -> stats
    approve: human Is the greeting right?
    shout: shout text="all done"

A line is ``<id>: <tool> [param=value ...] [-> variable]``:

- ``id`` names the step (letters, digits, ``_`` and ``-``); ids are unique.
- ``tool`` is the name of a registered tool, or ``human`` for a step that waits for a person (the
  rest of the line is the task's title; the person's answer is the step's output).
- ``param=value`` passes an argument: ``$name`` or ``$order.total`` reads a run variable; a quoted
  value is a JSON string; ``42``, ``1.5``, ``true``, ``false``, ``null`` are JSON literals; anything
  else is a plain string.
- ``-> variable`` stores the step's whole output in that variable; without it, an output object's
  keys become variables.

Every problem is reported with its line number; a file with several bad lines reports them all.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

from vrooli_core.engine.navigator import Navigator, RunView
from vrooli_core.errors import RoutineError
from vrooli_core.model import (
    Decision,
    Graph,
    IOMapping,
    NewToken,
    Outcome,
    OutcomeStatus,
    RoutineDef,
    RoutineSource,
    StepDef,
    StepKind,
    Token,
)

SUFFIX = ".steps.txt"
HUMAN = "human"

_LINE = re.compile(r"^(?P<id>[A-Za-z_][\w-]*)\s*:\s*(?P<tool>[A-Za-z_][\w.-]*)(?P<rest>.*)$")
_ARG = re.compile(r'\s+(?P<key>[A-Za-z_]\w*)=(?P<value>"(?:[^"\\]|\\.)*"|[^\s"]+)')
_TARGET = re.compile(r"\s*->\s*(?P<var>[A-Za-z_]\w*)\s*$")
_VARIABLE_PATH = re.compile(r"^[A-Za-z_]\w*(\.\w+)*$")


class MyFormatNavigator(Navigator):
    """Runs the steps of a ``.steps.txt`` file one after the other."""

    name: ClassVar[str] = "myformat"
    suffixes: ClassVar[tuple[str, ...]] = (SUFFIX,)
    supports_parallel: ClassVar[bool] = False

    def load(self, source: RoutineSource) -> Graph:
        steps: dict[str, StepDef] = {}
        problems: list[RoutineError] = []
        for number, raw in enumerate(source.text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            try:
                step = _parse_step(line, number)
            except RoutineError as exc:
                problems.append(
                    RoutineError(f"{exc.message}: {line!r}", element=exc.element, line=number, source=source.path)
                )
                continue
            if step.id in steps:
                first = steps[step.id].line
                problems.append(
                    RoutineError(
                        f"duplicate step id {step.id!r} (first on line {first}): {line!r}",
                        element=step.id,
                        line=number,
                        source=source.path,
                    )
                )
                continue
            steps[step.id] = step
        if problems:
            if len(problems) == 1:
                raise problems[0]
            raise RoutineError(f"{len(problems)} problems in steps file", source=source.path, problems=problems)
        if not steps:
            raise RoutineError("a steps file needs at least one step", source=source.path)
        order = list(steps)
        routine = RoutineDef(id=_routine_id(source.path), format=self.name, content_hash=source.content_hash)
        # The navigator's own model: the id that follows each step (None after the last one).
        following = dict(zip(order, [*order[1:], None], strict=True))
        return Graph(routine=routine, steps=steps, data={"first": order[0], "next": following})

    def start(self, graph: Graph, view: RunView) -> Decision:
        return Decision(create=(NewToken(graph.data["first"]),))

    def next(self, graph: Graph, view: RunView, token: Token, outcome: Outcome) -> Decision:
        if outcome.status is OutcomeStatus.FAILED:
            return Decision(error=outcome.error)  # no error routing in this format: the run fails
        following = graph.data["next"][token.location]
        if following is None:
            return Decision()  # no live token is left, so the run completes
        return Decision(create=(NewToken(following),))


def _parse_step(line: str, number: int) -> StepDef:
    match = _LINE.match(line)
    if match is None:
        raise RoutineError("expected '<id>: <tool> [param=value ...] [-> variable]'")
    sid, tool, rest = match["id"], match["tool"], match["rest"]
    target = _TARGET.search(rest)
    if target is not None:
        rest = rest[: target.start()]
    outputs = {target["var"]: ""} if target else None
    if tool == HUMAN:
        title = rest.strip()
        return StepDef(id=sid, kind=StepKind.HUMAN, name=title or sid, io=IOMapping(outputs=outputs), line=number)
    args: dict[str, Any] = {}
    inputs: dict[str, str] = {}
    position = 0
    for arg in _ARG.finditer(rest):
        if arg.start() != position:
            break
        position = arg.end()
        key, value = arg["key"], arg["value"]
        if key in args or key in inputs:
            raise RoutineError(f"argument {key!r} is given twice", element=sid)
        if value.startswith("$"):
            if not _VARIABLE_PATH.match(value[1:]):
                raise RoutineError(f"{value!r} is not a variable reference", element=sid)
            inputs[key] = value[1:]
        else:
            args[key] = _literal(value, sid)
    if rest[position:].strip():
        raise RoutineError(f"cannot read {rest[position:].strip()!r}", element=sid)
    return StepDef(
        id=sid,
        kind=StepKind.TOOL,
        config={"tool": tool, "args": args},
        # An explicit (possibly empty) input mapping: a tool gets only the arguments the line gives.
        io=IOMapping(inputs=inputs, outputs=outputs),
        line=number,
    )


def _literal(value: str, sid: str) -> Any:
    if value.startswith('"'):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise RoutineError(f"invalid quoted value {value}: {exc.msg}", element=sid) from None
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value  # a bare word is a string


def _routine_id(path: str | None) -> str:
    if not path:
        return "steps"
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    return name[: -len(SUFFIX)] if name.endswith(SUFFIX) else name.rsplit(".", 1)[0]
