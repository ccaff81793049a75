"""The navigator conformance suite in delegating mode, run against a tiny delegating navigator: its
"foreign runtime" runs a whole chain of tool calls inside one ``delegate`` step, reporting each call
as a sub-step, and parks on the engine's human waits between chains."""

from __future__ import annotations

from typing import Any, ClassVar

from vrooli_core import tool
from vrooli_core.engine import Navigator, RunView
from vrooli_core.errors import RoutineError
from vrooli_core.execution.strategy import StepContext
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
    WaitKind,
    WaitSpec,
)
from vrooli_core.testing.conformance import NavigatorConformance


class ChainNavigator(Navigator):
    """``*.chain.txt``: one instruction a line, ``call TOOL`` or ``ask TITLE``."""

    name: ClassVar[str] = "chain"
    suffixes: ClassVar[tuple[str, ...]] = (".chain.txt",)
    supports_parallel: ClassVar[bool] = False
    delegating: ClassVar[bool] = True

    def load(self, source: RoutineSource) -> Graph:
        lines = []
        for number, line in enumerate(source.text.splitlines(), start=1):
            verb, _, arg = line.strip().partition(" ")
            if not line.strip():
                continue
            if verb not in ("call", "ask") or not arg:
                raise RoutineError(
                    f"unknown instruction {line.strip()!r}", element=f"line{number}", line=number, source=source.path
                )
            lines.append((verb, arg))
        if not lines:
            raise RoutineError("a chain needs at least one instruction", source=source.path)
        routine = RoutineDef(
            id=(source.path or "chain").split("/")[-1].removesuffix(".chain.txt"),
            format=self.name,
            content_hash=source.content_hash,
        )
        return Graph(routine, {"run": StepDef("run", kind=StepKind.DELEGATE)}, data=tuple(lines))

    def io(self, graph: Graph, location: str) -> IOMapping:
        return IOMapping(outputs={})  # the navigator writes variables itself, through its decisions

    def start(self, graph: Graph, view: RunView) -> Decision:
        return Decision(create=(NewToken("run", data={"pc": 0}),))

    def next(self, graph: Graph, view: RunView, token: Token, outcome: Outcome) -> Decision:
        if outcome.status is OutcomeStatus.FAILED:
            return Decision(error=outcome.error)
        if token.data.get("asking"):  # a person answered: continue the chain after the question
            answer = outcome.output if isinstance(outcome.output, dict) else {"answer": outcome.output}
            return Decision(create=(NewToken("run", data={"pc": token.data["pc"]}),), variables=answer)
        result = outcome.output
        if "ask" in result:
            wait = WaitSpec(WaitKind.HUMAN, name=result["ask"])
            return Decision(
                create=(NewToken("run", data={"pc": result["pc"], "asking": True}, wait=wait),),
                variables=result["vars"],
            )
        return Decision(variables=result["vars"])

    async def execute(self, graph: Graph, view: RunView, token: Token, ctx: StepContext) -> Outcome:
        variables = dict(view.variables)
        written: dict[str, Any] = {}
        for pc in range(int(token.data["pc"]), len(graph.data)):
            verb, arg = graph.data[pc]
            if verb == "ask":
                return Outcome(output={"ask": arg, "pc": pc + 1, "vars": written})
            spec = ctx.tools[arg]
            args = {k: v for k, v in variables.items() if k in spec.parameters.get("properties", {})}
            async with ctx.substep(arg, args) as sub:
                sub.output = await spec.call(args, ctx)
            variables.update(sub.output)
            written.update(sub.output)
        return Outcome(output={"vars": written})


@tool
def double(n: int = 1) -> dict[str, int]:
    return {"n": n * 2}


@tool
def describe(n: int = 0) -> dict[str, str]:
    return {"text": f"n is {n}"}


class TestChainNavigator(NavigatorConformance):
    @property
    def navigator_class(self) -> type[Navigator]:
        return ChainNavigator

    @property
    def sequence_source(self) -> RoutineSource:
        return RoutineSource("call double\ncall double\ncall describe\n", "seq.chain.txt")

    @property
    def human_source(self) -> RoutineSource:
        return RoutineSource("call double\nask Is this right?\ncall describe\n", "review.chain.txt")

    @property
    def invalid_sources(self) -> list[tuple[RoutineSource, str | None]]:
        return [
            (RoutineSource("call double\njump 3\n", "bad.chain.txt"), "line2"),
            (RoutineSource("\n\n", "empty.chain.txt"), "at least one instruction"),
        ]

    @property
    def tools(self) -> list[Any]:
        return [double, describe]

    @property
    def inputs(self) -> dict[str, Any]:
        return {"n": 1}
