"""The vrooli side of the BPMN cases. One case per process:

    python -m bench.bpmn_cases CASE '{"param": value, ...}'

CASE is ``chain`` (a chain of script or no-op tasks), ``fork`` (a parallel fork/join), ``parse``
(loading a model) or ``state`` (bytes of stored run state per step: every stored event serialised
as a database would store it, plus the run record and the latest snapshot, on a
``memory://NAME?verify=1`` store). Prints one JSON object with
what it measured; the driver (``bench.run``) adds targets and the SpiffWorkflow side
(``bench.bpmn_peers``). The models come from ``bench.bpmn_workloads`` and are the same XML the peer
parses.

Run-time cases work like ``bench.cases``: one warm-up run of the 100-task model of the same shape,
then every repetition opens a fresh engine on a fresh ``memory://`` store and loads the model there;
``run_s`` times ``engine.run`` only (loading is ``load_s``); medians and minimums are reported.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import sys
import time
import uuid
from collections import Counter
from typing import Any

import anyio

from bench import bpmn_workloads as bw
from bench import workloads as w
from bench.cases import timed_runs

_NO_SCRIPTS = (
    "the BPMN plugin has no script-task module (vrooli_bpmn.scripts) in this installation: "
    "Python script tasks cannot run"
)

# -- run-time cases ----------------------------------------------------------------------------


async def _timed_runs(shape: str, n: int, kind: str, reps: int) -> dict[str, Any]:
    async def check(engine: Any, run: Any) -> bool:
        return bool(bw.check_variables(shape, n, kind, await engine.variables(run.id)))

    result, variables_ok, error = await timed_runs(
        bw.model_xml(shape, n, kind), reps=reps, warm=bw.model_xml(shape, 100, kind), check=check, engines=bw
    )
    med = result["run_s"]
    result |= {"variables_ok": variables_ok, "tasks": n, "tasks_per_s": round(n / med, 1), "us_per_task": round(med / n * 1e6, 3)}
    if error is not None:
        result["run_error"] = str(getattr(error, "message", error))[:300]
    return result


def _needs_scripts(kind: str) -> dict[str, Any] | None:
    if kind == "script" and not bw.scripts_available():
        return {"available": False, "reason": _NO_SCRIPTS}
    return None


def case_chain(p: dict[str, Any]) -> dict[str, Any]:
    n, kind = int(p["n"]), p.get("kind", "script")
    head = {"n": n, "kind": kind}
    if (missing := _needs_scripts(kind)) is not None:
        return head | missing
    return head | anyio.run(_timed_runs, "chain", n, kind, int(p.get("reps", 3)))


def case_fork(p: dict[str, Any]) -> dict[str, Any]:
    n, kind = int(p["n"]), p.get("kind", "script")
    head = {"branches": n, "kind": kind}
    if (missing := _needs_scripts(kind)) is not None:
        return head | missing
    return head | anyio.run(_timed_runs, "fork", n, kind, int(p.get("reps", 3)))


# -- loading -----------------------------------------------------------------------------------


async def _parse(n: int, kind: str, reps: int) -> dict[str, Any]:
    text = bw.chain_xml(n, kind)
    async with bw.open_engine() as engine:  # warm-up: lxml, the plugin's modules
        engine.parse(bw.source(bw.chain_xml(100, kind)))
    parses: list[float] = []
    loads: list[float] = []
    nodes = steps = 0
    for _ in range(reps):
        async with bw.open_engine() as engine:
            gc.collect()
            t0 = time.perf_counter()
            _, graph, _ = engine.parse(bw.source(text))
            parses.append(time.perf_counter() - t0)
            steps = len(graph.steps)
            compiled = graph.data
            nodes = sum(len(proc.nodes) for proc in compiled.defs.processes.values())
        async with bw.open_engine() as engine:
            gc.collect()
            _, load_s = await bw.load(engine, text)
            loads.append(load_s)
    med = w.median(parses)
    return {
        "n": n,
        "kind": kind,
        "flow_nodes": nodes,
        "steps": steps,
        "bytes": len(text.encode()),
        "reps": len(parses),
        "parse_s": w.rounded(med),
        "parse_s_min": w.rounded(min(parses)),
        "us_per_node": round(med / nodes * 1e6, 2) if nodes else None,
        "load_s": w.rounded(w.median(loads)),
    }


def case_parse(p: dict[str, Any]) -> dict[str, Any]:
    n, kind = int(p["n"]), p.get("kind", "script")
    if (missing := _needs_scripts(kind)) is not None:
        return {"n": n, "kind": kind} | missing
    return anyio.run(_parse, n, kind, int(p.get("reps", 3)))


# -- stored run state --------------------------------------------------------------------------


def _json_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=repr).encode())


async def _state(shape: str, n: int, kind: str) -> dict[str, Any]:
    from vrooli_core.serialization import dumps
    from vrooli_core.storage.memory import MemoryStorage

    name = f"bench-state-{uuid.uuid4().hex}"
    try:
        async with bw.open_engine(f"memory://{name}?verify=1") as engine:
            routine, _ = await bw.load(engine, bw.model_xml(shape, n, kind))
            run = await engine.run(routine)
            events = await engine.history(run.id)
            variables = await engine.variables(run.id)
            stored_run = await engine.storage.get_run(run.id)
            conv = engine.converter
            by_type: Counter[str] = Counter()
            count_by_type: Counter[str] = Counter()
            total = writes = outputs = 0
            for event in events:
                size = len(dumps(conv, event).encode())
                total += size
                by_type[event.type] += size
                count_by_type[event.type] += 1
                # The variable values in the stored form: ``writes``, or ``output`` where the output
                # written to variables as is is stored once; an ``outcome.output`` stored beside them.
                data = conv.unstructure(event)["data"]
                written = data.get("writes", data.get("output"))
                if written:
                    writes += _json_size(written)
                outcome = data.get("outcome")
                if isinstance(outcome, dict) and outcome.get("output") is not None:
                    outputs += _json_size(outcome["output"])
            variables_size = _json_size(conv.unstructure(variables))
            run_record = len(dumps(conv, stored_run).encode())
            snapshot = await engine.storage.load_snapshot(run.id)
            snapshot_size = _json_size(snapshot[1]) if snapshot else 0
    finally:
        MemoryStorage.forget(name)
    steps = run.steps
    stored = total + run_record + snapshot_size  # what the store keeps for the run
    largest = max(events, key=lambda e: len(dumps(conv, e))) if events else None
    samples: dict[str, str] = {}
    for etype in count_by_type:  # the middle event of each type, cut to 600 characters
        of_type = [e for e in events if e.type == etype]
        samples[etype] = dumps(conv, of_type[len(of_type) // 2])[:600]
    return {
        "shape": shape,
        "n": n,
        "kind": kind,
        "store": "memory://NAME?verify=1",
        "status": str(run.status),
        "completed": str(run.status) == "completed" and bw.check_variables(shape, n, kind, variables),
        "steps": steps,
        "events": len(events),
        "events_bytes": total,
        "stored_bytes": stored,
        "variables_bytes": variables_size,
        "bytes_per_step": round((stored - variables_size) / steps, 1) if steps else None,
        "step_writes_bytes": writes,
        "step_outputs_bytes": outputs,
        "bytes_per_step_without_step_values": round((stored - writes - outputs) / steps, 1) if steps else None,
        "bytes_by_event_type": dict(by_type),
        "events_by_type": dict(count_by_type),
        "bytes_per_event_by_type": {k: round(v / count_by_type[k], 1) for k, v in by_type.items()},
        "largest_event": {"type": largest.type, "seq": largest.seq, "bytes": len(dumps(conv, largest))}
        if largest
        else None,
        "sample_events": samples,
        "run_record_bytes": run_record,
        "snapshot_bytes": snapshot_size,
    }


def case_state(p: dict[str, Any]) -> dict[str, Any]:
    shape, n, kind = p.get("shape", "chain"), int(p["n"]), p.get("kind", "script")
    if (missing := _needs_scripts(kind)) is not None:
        return {"shape": shape, "n": n, "kind": kind} | missing
    return anyio.run(_state, shape, n, kind)


CASES = {
    "chain": case_chain,
    "fork": case_fork,
    "parse": case_parse,
    "state": case_state,
}


def main(argv: list[str]) -> int:
    def unavailable() -> str | None:
        if importlib.util.find_spec("vrooli_bpmn") is None:
            return "vrooli-bpmn is not installed (pip install -e plugins/bpmn)"
        return None

    return w.case_main(CASES, argv, unavailable)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
