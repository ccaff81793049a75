"""The ``langgraph`` navigator: a delegating navigator (DESIGN §3.1). A routine is one ``delegate``
step, ``graph``; executing it runs the LangGraph graph in LangGraph itself, with exact LangGraph
semantics, and a checkpointer over vrooli's storage keyed by the run id.

- Before every node, the run's limits and ``before_step`` safety checks apply (``ctx.substep``): a
  node is not started when the run was cancelled, paused or over a limit, or a check denies it;
  every node's execution is recorded as a ``substep.recorded`` event with its output or error.
- ``interrupt()`` inside a node rests the run on a durable human task (``WaitKind.HUMAN``, key
  ``interrupt``, the interrupt's value in its form). Completing the task runs the graph again with
  ``Command(resume=answer)``, from its checkpoint. As in LangGraph, the interrupted node runs again
  from its start: code before ``interrupt()`` runs twice; a side effect there can use
  ``idempotency_key()`` (the same for both runs of the node).
- Model usage reported by LangChain (``usage_metadata`` of chat model results) is charged to the run
  as it happens, so token and credit limits stop a graph between its model calls.
- Re-executing the step after a crash continues from the graph's last checkpoint.
"""

from __future__ import annotations

import contextvars
import copy
import dataclasses
import json
import re
from pathlib import Path
from typing import Any, ClassVar

import attrs

from vrooli_core.engine.navigator import Navigator, RunView
from vrooli_core.errors import RoutineError
from vrooli_core.model import (
    Decision,
    ErrorInfo,
    Graph,
    NewToken,
    Outcome,
    OutcomeStatus,
    RoutineDef,
    RoutineSource,
    StepDef,
    StepKind,
    Token,
    Usage,
    WaitKind,
    WaitSpec,
    goto,
)
from vrooli_core.picture import Picture, PictureEdge, PictureNode

__all__ = ["STEP", "LangGraphNavigator", "idempotency_key"]

STEP = "graph"
_REFERENCE = re.compile(r"^[\w./\\-]+:[\w.]+$")
INTERRUPT = "interrupt"
_NO_RESUME = "__vrooli_no_resume__"


@attrs.define
class _Running:
    """What the nodes of one execution share: the step's context, the node that failed."""

    ctx: Any
    failed: str | None = None
    interrupted: str | None = None


_CURRENT: contextvars.ContextVar[_Running] = contextvars.ContextVar("vrooli_langgraph_running")


def idempotency_key() -> str:
    """Inside a node: a key for this execution of the node — the run, the node and LangGraph's task
    id — that is the same when the node runs again after an interrupt or a crash (LangGraph runs
    the same pending task again), so a side effect can be made once."""
    from langgraph.config import get_config

    namespace = get_config().get("configurable", {}).get("checkpoint_ns", "")
    return f"{_CURRENT.get().ctx.run_id}:{namespace}"


class LangGraphNavigator(Navigator):
    name: ClassVar[str] = "langgraph"
    suffixes: ClassVar[tuple[str, ...]] = ("langgraph.json",)
    supports_parallel: ClassVar[bool] = False
    delegating: ClassVar[bool] = True

    def __init__(self) -> None:
        self._compiled: dict[tuple[int, int], Any] = {}

    def accepts(self, source: RoutineSource) -> bool:
        """A ``langgraph.json`` file, or a reference given as text (``module:attribute``,
        ``path/file.py:attribute``) with no file behind it."""
        if source.path:
            return source.path.endswith("langgraph.json")
        return _REFERENCE.match(source.text.strip()) is not None

    def picture(self, graph: Graph) -> Picture:
        """The graph's declared structure: nodes, edges, joins, routes with a path map (or a
        ``Literal`` return annotation) and ``Command`` destinations. A router with neither cannot be
        drawn faithfully: a warning names its node."""
        return _picture(graph.data["found"])

    # -- loading ------------------------------------------------------------------------------

    def load(self, source: RoutineSource) -> Graph:
        from vrooli_langgraph.loader import find_graph

        if source.path and source.path.endswith(".json"):
            found = find_graph(source.text, base=Path(source.path).parent)
        else:
            found = find_graph(source.text)
        builder = found.builder
        routine_id = _routine_id(source)
        fields = _fields(getattr(builder, "state_schema", None))
        schema = {"type": "object", "properties": {f: {} for f in fields}} if fields else {}
        out_fields = _fields(getattr(builder, "output_schema", None)) or fields
        routine = RoutineDef(
            id=routine_id,
            format=self.name,
            content_hash=source.content_hash,
            # The code behind a reference changes without the reference: the version names the code.
            version=found.code_hash[:12],
            name=routine_id,
            description=f"LangGraph graph {found.reference} ({found.kind})",
            inputs=schema,
            outputs={"type": "object", "properties": {f: {} for f in out_fields}} if out_fields else {},
        )
        step = StepDef(STEP, StepKind.DELEGATE, name=f"LangGraph {found.reference}")
        return Graph(routine=routine, steps={STEP: step}, data={"found": found})

    # -- moving -------------------------------------------------------------------------------

    def start(self, graph: Graph, view: RunView) -> Decision:
        return goto(STEP)

    def next(self, graph: Graph, view: RunView, token: Token, outcome: Outcome) -> Decision:
        if outcome.status is OutcomeStatus.FAILED:
            return Decision(error=outcome.error)
        if outcome.trigger == INTERRUPT:  # a person answered an interrupt: run the graph on
            return Decision(create=(NewToken(STEP, data={"resume": outcome.output}),))
        values = outcome.output if isinstance(outcome.output, dict) else {"result": outcome.output}
        return Decision(complete=True, outputs=values)

    # -- executing ------------------------------------------------------------------------------

    async def execute(self, graph: Graph, view: RunView, token: Token, ctx: Any) -> Outcome:
        from langgraph.errors import GraphRecursionError
        from langgraph.types import Command

        from vrooli_core.engine.mover import StepStopped
        from vrooli_core.execution.safety import ApprovalRequired, SafetyDenied

        found = graph.data["found"]
        compiled = self._compile(found, ctx)
        config: dict[str, Any] = {"configurable": {"thread_id": ctx.run_id}, "callbacks": [_usage_handler(ctx)]}
        # LangGraph's own default recursion limit, unless the compiled graph carries one.
        if "recursion_limit" in found.config:
            config["recursion_limit"] = int(found.config["recursion_limit"])
        resume = token.data.get("resume", _NO_RESUME)
        if resume is not _NO_RESUME:
            # Executed again after a crash, the answer may already have been taken: then go on
            # from the checkpoint instead of answering an interrupt that is no longer there.
            pending = getattr(await compiled.aget_state(config), "interrupts", ())
            payload: Any = Command(resume=resume) if pending else None
        else:
            saved = await compiled.checkpointer.aget_tuple(config)
            # Executed again after a crash: go on from the last checkpoint, never from the start.
            payload = None if saved is not None else dict(ctx.inputs or {})
        running = _Running(ctx)
        reset = _CURRENT.set(running)
        try:
            # durability "sync": each checkpoint is stored before the next step starts (a crash
            # loses nothing that ran).
            async for _ in compiled.astream(payload, config, stream_mode="updates", durability="sync"):
                pass
        except (StepStopped, SafetyDenied, ApprovalRequired):
            raise
        except GraphRecursionError as exc:
            return Outcome.failure("recursion_limit", f"graph {found.reference} hit its recursion limit: {exc}", element=STEP)
        except Exception as exc:  # the graph's own code raised: the step fails, naming the node
            node = running.failed or "?"
            return Outcome(
                status=OutcomeStatus.FAILED,
                error=ErrorInfo(
                    code=type(exc).__name__,
                    message=f"node {node!r} of graph {found.reference} raised {type(exc).__name__}: {exc}",
                    type=f"{type(exc).__module__}.{type(exc).__qualname__}",
                    element=node,
                ),
            )
        finally:
            _CURRENT.reset(reset)
        state = await compiled.aget_state(config)
        interrupts = list(getattr(state, "interrupts", ()) or ())
        if interrupts:
            first = interrupts[0]
            node = running.interrupted or _node_of(state, first) or STEP
            return Outcome(
                status=OutcomeStatus.SUSPENDED,
                wait=WaitSpec(
                    kind=WaitKind.HUMAN,
                    name=f"{node}: {_title(first.value)}",
                    key=INTERRUPT,
                    form={"interrupt": _plain(first.value), "node": node, "graph": found.reference},
                ),
            )
        return Outcome(output=_plain(dict(state.values)))

    def _compile(self, found: Any, ctx: Any) -> Any:
        from vrooli_langgraph.saver import StorageSaver

        storage = getattr(ctx.services, "storage", None)
        key = (id(found.builder), id(storage))
        compiled = self._compiled.get(key)
        if compiled is None:
            if storage is not None:
                saver: Any = StorageSaver(storage)
            else:  # no engine behind the step (a conformance harness): checkpoints in memory
                from langgraph.checkpoint.memory import InMemorySaver

                saver = InMemorySaver()
            compiled = self._compiled[key] = _instrumented(found.builder).compile(checkpointer=saver)
        return compiled


def _instrumented(builder: Any) -> Any:
    """A copy of ``builder`` whose nodes report to the run before and after they execute."""
    copied = copy.copy(builder)
    copied.nodes = {name: dataclasses.replace(spec, runnable=_wrapped(name, spec.runnable)) for name, spec in builder.nodes.items()}
    return copied


def _wrapped(name: str, runnable: Any) -> Any:
    """The reporting node as a runnable: LangGraph's own light wrapper when this LangGraph has it
    (no tracing of its own: the node inside is traced as before), else LangChain's."""
    node = _reporting(name, runnable)
    try:
        from langgraph._internal._runnable import RunnableCallable
    except ImportError:  # another LangGraph layout
        from langchain_core.runnables import RunnableLambda

        return RunnableLambda(node, name=name)
    return RunnableCallable(node, node, name=name, trace=False)  # (func too: its signature says what to inject)


def _reporting(name: str, runnable: Any) -> Any:
    async def node(state: Any, config) -> Any:  # type: ignore[no-untyped-def]  # (no annotation: LangGraph injects the config by it)
        from langgraph.errors import GraphBubbleUp

        running = _CURRENT.get()
        ctx = running.ctx
        await ctx.services.substep(ctx, name, state)  # the checks see the state as the node does
        try:
            result = await runnable.ainvoke(state, config)
        except GraphBubbleUp:  # an interrupt (or a parent command): not a failure
            running.interrupted = name
            await ctx.services.substep_done(ctx, name, Outcome(output={"interrupted": True}))
            raise
        except Exception as exc:
            running.failed = name
            await ctx.services.substep_done(ctx, name, Outcome.failure(type(exc).__name__, str(exc), element=name))
            raise
        await ctx.services.substep_done(ctx, name, Outcome(output=_plain(result)))
        return result

    return node


def _usage_handler(ctx: Any) -> Any:
    """A LangChain callback that charges each chat model result's ``usage_metadata`` to the run."""
    from langchain_core.callbacks import AsyncCallbackHandler

    class Usage_(AsyncCallbackHandler):
        raise_error = True
        # Only model results matter here: LangChain then skips this handler for every other run.
        ignore_chain = True
        ignore_agent = True
        ignore_retriever = True
        ignore_retry = True
        ignore_custom_event = True

        async def on_llm_end(self, response: Any, **kwargs: Any) -> None:
            for generations in response.generations:
                for generation in generations:
                    meta = getattr(getattr(generation, "message", None), "usage_metadata", None)
                    if meta:
                        usage = Usage(input_tokens=int(meta.get("input_tokens", 0)), output_tokens=int(meta.get("output_tokens", 0)), model_calls=1)
                        await ctx.charge(usage, what="model", detail={"source": "langchain"})

    return Usage_()


def _picture(found: Any) -> Picture:
    from langgraph.graph import END, START

    builder = found.builder
    nodes = [PictureNode(START, "start", "start")]
    nodes += [PictureNode(name, name, "task") for name in builder.nodes]
    nodes.append(PictureNode(END, "end", "end"))
    edges: list[PictureEdge] = []
    warnings: list[str] = []

    def edge(source: str, target: str, label: str = "") -> None:
        edges.append(PictureEdge(f"e{len(edges) + 1}", source, target, label))

    for source, target in sorted(builder.edges):
        edge(source, target)
    for sources, target in sorted(builder.waiting_edges):
        for source in sources:
            edge(source, target, "join")
    for source, branches in builder.branches.items():
        for name, branch in branches.items():
            if branch.ends is None:
                warnings.append(f"node {source!r} routes with {name!r}, which has no path map nor Literal return annotation: its targets are not drawn")
                continue
            for label, target in branch.ends.items():
                edge(source, target, str(label) if label != target else name)
    for name, spec in builder.nodes.items():
        ends = spec.ends or ()
        for target in ends.values() if isinstance(ends, dict) else ends:
            edge(name, target, "command")
    return Picture(tuple(nodes), tuple(edges), title=found.reference, warnings=tuple(warnings))


def _routine_id(source: RoutineSource) -> str:
    text = source.text.strip()
    if source.path and source.path.endswith(".json"):
        try:
            graphs = json.loads(text).get("graphs") or {}
        except (json.JSONDecodeError, AttributeError):
            graphs = {}
        return next(iter(graphs), Path(source.path).parent.name or "langgraph") if len(graphs) == 1 else Path(source.path).parent.name
    attr = text.rpartition(":")[2]
    if not attr:
        raise RoutineError(f"{text!r} is not a LangGraph reference: write module:attribute", source=text)
    return attr.split(".")[-1]


def _fields(schema: Any) -> list[str]:
    if schema is None:
        return []
    annotations = getattr(schema, "__annotations__", None) or {}
    if not annotations and hasattr(schema, "model_fields"):
        return list(schema.model_fields)
    return list(annotations)


def _node_of(state: Any, interrupt: Any) -> str | None:
    for task in getattr(state, "tasks", ()) or ():
        if any(i is interrupt or getattr(i, "id", None) == getattr(interrupt, "id", object()) for i in getattr(task, "interrupts", ())):
            return str(task.name)
    return None


def _title(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(_plain(value))
    return text if len(text) <= 80 else text[:79] + "…"


def _plain(value: Any) -> Any:
    """``value`` as JSON types (anything else becomes its repr): what a recorded event can hold."""
    return json.loads(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    for method in ("model_dump", "dict"):
        dump = getattr(value, method, None)
        if callable(dump):
            try:
                return dump()
            except Exception:  # a dump that fails: fall back to the repr
                break
    return repr(value)
