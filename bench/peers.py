"""Peer engines on the same workloads, for side-by-side ratios. One case per process:

    python -m bench.peers PEER CASE '{"param": value, ...}'

PEER is ``langgraph``, ``spiffworkflow`` or ``langgraph-sqlite`` (LangGraph with its SQLite
checkpointer); CASE is ``chain``, ``fork``, ``concurrent`` (LangGraph only), ``import``, or
``bpmn-chain``, ``bpmn-fork``, ``bpmn-parse`` (SpiffWorkflow on the BPMN cases' models, see
``bench.bpmn_peers``), or ``durable-chain``, ``durable-concurrent`` (``langgraph-sqlite``, see
``bench.storage_peers``). Prints one JSON object. A peer that is not installed prints
``{"available": false}``. These engines are optional: nothing in the project depends on them.

What is timed matches the vrooli cases: building the graph (LangGraph ``compile``, SpiffWorkflow
BPMN parsing) is reported separately as ``build_s``; ``run_s`` covers creating the run and moving it
to its end (LangGraph ``invoke``; SpiffWorkflow ``BpmnWorkflow(spec)`` plus ``do_engine_steps``).
"""

from __future__ import annotations

import importlib.util
import json
import operator
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Annotated, Any, TypedDict

#: The modules each peer needs.
PEER_MODULES = {
    "langgraph": ("langgraph",),
    "spiffworkflow": ("SpiffWorkflow",),
    "langgraph-sqlite": ("langgraph", "langgraph.checkpoint.sqlite", "aiosqlite"),
}
#: The distributions whose versions a peer reports.
PEER_DISTS = {"langgraph-sqlite": ("langgraph", "langgraph-checkpoint-sqlite")}


def available(peer: str) -> bool:
    for module in PEER_MODULES[peer]:
        try:
            if importlib.util.find_spec(module) is None:
                return False
        except ModuleNotFoundError:  # a parent package is missing
            return False
    return True


def version(peer: str) -> str | None:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    versions = []
    for dist in PEER_DISTS.get(peer, (peer,)):
        try:
            versions.append(dist_version(dist))
        except PackageNotFoundError:
            return None
    return " / ".join(versions)


def _maxrss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _summary(times: list[float], steps: int) -> dict[str, Any]:
    med = statistics.median(times)
    return {
        "reps": len(times),
        "run_s": round(med, 6),
        "run_s_min": round(min(times), 6),
        "steps_per_s": round(steps / med, 1),
        "us_per_step": round(med / steps * 1e6, 3),
    }


# -- LangGraph ---------------------------------------------------------------------------------


class Count(TypedDict):
    """LangGraph state: each node adds 1 to ``count`` (so the result counts the steps run)."""

    count: Annotated[int, operator.add]


def _lg_step(state: Any) -> dict[str, int]:
    return {"count": 1}


def _lg_chain(n: int) -> Any:
    from langgraph.graph import END, START, StateGraph

    graph = StateGraph(Count)
    previous = START
    for i in range(n):
        graph.add_node(f"s{i}", _lg_step)
        graph.add_edge(previous, f"s{i}")
        previous = f"s{i}"
    graph.add_edge(previous, END)
    return graph


def _lg_fork(n: int) -> Any:
    from langgraph.graph import END, START, StateGraph

    graph = StateGraph(Count)
    graph.add_node("fork", _lg_step)
    graph.add_node("join", _lg_step)
    graph.add_edge(START, "fork")
    branches = [f"b{i}" for i in range(n)]
    for name in branches:
        graph.add_node(name, _lg_step)
        graph.add_edge("fork", name)
    graph.add_edge(branches, "join")
    graph.add_edge("join", END)
    return graph


def langgraph_case(case: str, p: dict[str, Any]) -> dict[str, Any]:
    if case == "concurrent":
        return _lg_concurrent(int(p["runs"]), float(p.get("latency_s", 0.05)))
    n, reps = int(p["n"]), int(p.get("reps", 1))
    steps = n if case == "chain" else n + 2
    import langgraph.graph  # noqa: F401  (imported before the build is timed)

    t0 = time.perf_counter()
    app = (_lg_chain if case == "chain" else _lg_fork)(n).compile()
    build = time.perf_counter() - t0
    config = {"recursion_limit": n + 10}
    if reps > 1:
        app.invoke({"count": 0}, config)  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = app.invoke({"count": 0}, config)
        times.append(time.perf_counter() - t0)
        if out["count"] != steps:
            return {"n": n, "error": f"counted {out['count']} steps, expected {steps}"}
    return {"n": n, "steps": steps, "build_s": round(build, 6)} | _summary(times, steps)


def _lg_concurrent(runs: int, latency: float) -> dict[str, Any]:
    import asyncio

    from langgraph.graph import END, START, StateGraph

    async def llm(state: Any) -> dict[str, int]:
        await asyncio.sleep(latency)
        return {"count": 1}

    graph = StateGraph(Count)
    graph.add_node("prep", _lg_step)
    graph.add_node("llm", llm)
    graph.add_node("post", _lg_step)
    graph.add_edge(START, "prep")
    graph.add_edge("prep", "llm")
    graph.add_edge("llm", "post")
    graph.add_edge("post", END)
    app = graph.compile()

    async def main() -> tuple[float, list[Any]]:
        await app.ainvoke({"count": 0})  # warm-up
        t0 = time.perf_counter()
        outs = await asyncio.gather(*(app.ainvoke({"count": 0}) for _ in range(runs)))
        return time.perf_counter() - t0, outs

    wall, outs = asyncio.run(main())
    return {
        "runs": runs,
        "latency_s": latency,
        "completed": all(o["count"] == 3 for o in outs),
        "wall_s": round(wall, 6),
        "runs_per_s": round(runs / wall, 1),
    }


# -- SpiffWorkflow -----------------------------------------------------------------------------

_BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _bpmn(elements: list[str]) -> bytes:
    body = "\n".join(elements)
    return (
        f'<definitions xmlns="{_BPMN}" id="defs" targetNamespace="bench">'
        f'<process id="bench" isExecutable="true">{body}</process></definitions>'
    ).encode()


def _flow(fid: str, src: str, dst: str) -> str:
    return f'<sequenceFlow id="{fid}" sourceRef="{src}" targetRef="{dst}"/>'


def _script(tid: str) -> str:
    return f'<scriptTask id="{tid}" scriptFormat="python"><script>pass</script></scriptTask>'


def spiff_chain_xml(n: int) -> bytes:
    """start -> n script tasks in sequence -> end."""
    parts = ['<startEvent id="start"/>', '<endEvent id="end"/>']
    previous = "start"
    for i in range(n):
        parts += [_script(f"s{i}"), _flow(f"f{i}", previous, f"s{i}")]
        previous = f"s{i}"
    parts.append(_flow("f_end", previous, "end"))
    return _bpmn(parts)


def spiff_fork_xml(n: int) -> bytes:
    """start -> parallel split -> n script tasks -> parallel join -> end."""
    parts = [
        '<startEvent id="start"/>',
        '<parallelGateway id="fork"/>',
        '<parallelGateway id="join"/>',
        '<endEvent id="end"/>',
        _flow("f_start", "start", "fork"),
        _flow("f_end", "join", "end"),
    ]
    for i in range(n):
        parts += [_script(f"b{i}"), _flow(f"fa{i}", "fork", f"b{i}"), _flow(f"fb{i}", f"b{i}", "join")]
    return _bpmn(parts)


def spiff_case(case: str, p: dict[str, Any]) -> dict[str, Any]:
    from SpiffWorkflow.bpmn import BpmnWorkflow  # type: ignore[import-untyped]
    from SpiffWorkflow.bpmn.parser import BpmnParser  # type: ignore[import-untyped]

    n, reps = int(p["n"]), int(p.get("reps", 1))
    xml = (spiff_chain_xml if case == "chain" else spiff_fork_xml)(n)
    result: dict[str, Any] = {"n": n, "steps": n, "step_kind": "scriptTask (pass)"}
    try:
        t0 = time.perf_counter()
        parser = BpmnParser()
        parser.add_bpmn_str(xml)
        spec = parser.get_spec("bench")
        subprocesses = parser.get_subprocess_specs("bench")
        result["build_s"] = round(time.perf_counter() - t0, 6)
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            workflow = BpmnWorkflow(spec, subprocesses)
            workflow.do_engine_steps()
            times.append(time.perf_counter() - t0)
            done = workflow.is_completed() if hasattr(workflow, "is_completed") else workflow.completed
            if not done:
                return result | {"error": "the workflow did not complete (do_engine_steps left work behind)"}
    except (Exception, RecursionError) as exc:
        return result | {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    return result | _summary(times, n)


# -- imports -----------------------------------------------------------------------------------

_IMPORTS = {
    "langgraph": "from langgraph.graph import StateGraph",
    "spiffworkflow": "from SpiffWorkflow.bpmn import BpmnWorkflow",
}


def import_case(peer: str, p: dict[str, Any]) -> dict[str, Any]:
    code = (
        f"import time, json\nt0 = time.perf_counter()\n{_IMPORTS[peer]}\nprint(json.dumps(time.perf_counter() - t0))\n"
    )
    best = float("inf")
    with tempfile.TemporaryDirectory() as cwd:
        for _ in range(int(p.get("reps", 5))):
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, check=True)
            best = min(best, float(out.stdout.strip().splitlines()[-1]))
    return {"statement": _IMPORTS[peer], "import_s": round(best, 6)}


def main(argv: list[str]) -> int:
    peer, case = argv[0], argv[1]
    params = json.loads(argv[2]) if len(argv) > 2 else {}
    if not available(peer):
        print(json.dumps({"peer": peer, "available": False}))
        return 0
    if case == "import":
        result = import_case(peer, params)
    elif case.startswith("bpmn-"):  # the BPMN cases' models (SpiffWorkflow only)
        from bench.bpmn_peers import spiff_bpmn_case

        result = spiff_bpmn_case(case, params)
    elif case.startswith("durable-"):  # LangGraph with its SQLite checkpointer
        from bench.storage_peers import durable_case

        result = durable_case(case, params)
    elif peer == "langgraph":
        result = langgraph_case(case, params)
    else:
        result = spiff_case(case, params)
    print(
        json.dumps(
            {"peer": peer, "version": version(peer), "available": True, "case": case}
            | result
            | {"maxrss_mib": _maxrss_mib()}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
