"""Run the benchmarks and print one JSON object per case.

    python -m bench [CASE ...] [--quick] [--no-peers | --peers] [--json-out FILE] [--list]
    python bench/run.py ...            (the same)

CASE is a case name (``chain-10000``) or a group (``chain``, ``fork``, ``concurrent``, ...); without
one, every case runs. Each case runs in its own subprocess (``bench.cases``; peers in
``bench.peers``) so that one case's memory and garbage do not weigh on the next. stdout carries only
JSON lines; progress and a summary table go to stderr.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(ROOT))

# -- the plan ----------------------------------------------------------------------------------

Check = Callable[[dict[str, Any]], bool | None]


class Case:
    def __init__(
        self,
        name: str,
        kind: str,
        params: dict[str, Any],
        target: str | None = None,
        check: Check | None = None,
        peers: tuple[tuple[str, str, dict[str, Any]], ...] = (),
        ratio: str = "run_s",
        note: str | None = None,
        timeout: float = 1800,
        module: str = "bench.cases",
        peer_min_ratio: tuple[str, float] | None = None,
        ratio_of: str | None = None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.params = params
        self.target = target
        self.check = check
        self.peers = peers
        self.ratio = ratio
        self.note = note
        self.timeout = timeout
        #: The module that runs the vrooli side (``bench.cases``; ``bench.bpmn_cases`` for BPMN).
        self.module = module
        #: A target on a peer's ratio: (peer, minimum speedup). Judged once the peer has run.
        self.peer_min_ratio = peer_min_ratio
        #: What the ratio means, when it is not a speedup (e.g. bytes stored).
        self.ratio_of = ratio_of


class Derived:
    """A case computed from two measured ones: the per-step cost of ``big`` over that of ``small``."""

    def __init__(
        self, name: str, big: str, small: str, limit: float | None, target: str | None, key: str = "us_per_step"
    ) -> None:
        self.name = name
        self.big = big
        self.small = small
        self.limit = limit
        self.target = target
        self.key = key


def _ge(key: str, value: float) -> Check:
    return lambda m: None if m.get(key) is None else m[key] >= value


def _lt(key: str, value: float, also: str | None = None) -> Check:
    def check(m: dict[str, Any]) -> bool | None:
        if m.get(key) is None:
            return None
        return m[key] < value and (also is None or bool(m.get(also)))

    return check


def _true(key: str) -> Check:
    return lambda m: bool(m.get(key))


def _chain_checks(n: int) -> tuple[str | None, Check | None]:
    if n >= 100_000:
        return "completes", _true("completed")
    if n >= 1_000:
        return "≥ 50,000 steps/s", lambda m: bool(m.get("completed")) and m["steps_per_s"] >= 50_000
    return None, None


def plan(quick: bool) -> list[Case | Derived]:
    lg, sp = "langgraph", "spiffworkflow"
    chains: tuple[int, ...]
    forks: tuple[int, ...]
    if quick:
        chains, forks, conc, parked, loads = (100, 1_000), (100, 1_000), 300, 2_000, (100, 1_000)
        reps = {100: 10, 1_000: 3}
        startup_reps = 3
    else:
        chains, forks, conc, parked, loads = (
            (100, 10_000, 100_000),
            (100, 1_000, 10_000),
            10_000,
            100_000,
            (1_000, 10_000),
        )
        reps = {100: 30, 1_000: 10, 10_000: 5, 100_000: 1}
        startup_reps = 10
    peer_reps = {100: 20, 1_000: 3}
    cases: list[Case | Derived] = []

    def chain_peers(n: int) -> tuple[tuple[str, str, dict[str, Any]], ...]:
        if n > 10_000:
            return ()
        return (
            (lg, "chain", {"n": n, "reps": peer_reps.get(n, 1)}),
            (sp, "chain", {"n": n, "reps": min(5, peer_reps.get(n, 1))}),
        )

    for kind in ("noop", "tool"):
        suffix = "" if kind == "noop" else "-tool"
        for n in chains:
            if kind == "tool" and n > 10_000:
                continue
            target, check = _chain_checks(n)
            cases.append(
                Case(
                    f"chain{suffix}-{n}",
                    "chain",
                    {"n": n, "kind": kind, "reps": reps[n]},
                    target,
                    check,
                    chain_peers(n),
                )
            )
        big = chains[1]
        cases.append(
            Derived(
                f"chain{suffix}-scaling",
                f"chain{suffix}-{big}",
                f"chain{suffix}-100",
                1.5,
                f"per-step cost of the {big:,} chain ≤ 1.5x that of the 100 chain",
            )
        )
        if kind == "noop" and len(chains) > 2:
            cases.append(Derived("chain-scaling-100000", f"chain-{chains[2]}", "chain-100", None, None))
    for kind in ("noop", "tool"):
        suffix = "" if kind == "noop" else "-tool"
        for n in forks:
            if kind == "tool" and n != forks[-1]:
                continue
            peers: tuple[tuple[str, str, dict[str, Any]], ...] = ((lg, "fork", {"n": n, "reps": peer_reps.get(n, 1)}),)
            note = None
            if n <= 1_000:
                peers += ((sp, "fork", {"n": n, "reps": 1 if n >= 1_000 else 3}),)
            else:
                note = "SpiffWorkflow is not run at 10,000 branches: its fork/join cost grows quadratically (see fork-1000)"
            big = n == forks[-1]
            cases.append(
                Case(
                    f"fork{suffix}-{n}",
                    "fork",
                    {"n": n, "kind": kind, "reps": reps.get(n, 3)},
                    "< 1 s" if big else None,
                    _lt("run_s", 1.0, "completed") if big else None,
                    peers,
                    note=note,
                )
            )
    conc_peers = ((lg, "concurrent", {"runs": conc, "latency_s": 0.05}),)
    cases.append(
        Case(
            f"concurrent-{conc}",
            "concurrent",
            {"runs": conc, "waiters": "sequential"},
            "< 3 s wall",
            _lt("wall_s", 3.0, "completed"),
            conc_peers,
            ratio="wall_s",
        )
    )
    cases.append(
        Case(
            f"concurrent-{conc}-waiters",
            "concurrent",
            {"runs": conc, "waiters": "concurrent"},
            "< 3 s wall",
            _lt("wall_s", 3.0, "completed"),
            conc_peers,
            ratio="wall_s",
            note="the same runs, awaited by one waiter task per run (engine.wait) instead of one after another",
        )
    )
    cases.append(
        Case(
            f"parked-{parked}",
            "parked",
            {"runs": parked},
            "peak RSS < 2 GiB",
            lambda m: bool(m.get("parked")) and m["maxrss_mib"] < 2048,
        )
    )
    for n in loads:
        cases.append(Case(f"load-{n}", "load", {"n": n, "reps": 5 if n <= 1_000 else 3}))
    cases.append(
        Derived(
            "load-scaling",
            f"load-{loads[1]}",
            f"load-{loads[0]}",
            1.5,
            f"per-step load cost of a {loads[1]:,}-step flow ≤ 1.5x that of a {loads[0]:,}-step one (DESIGN §5: no quadratic work)",
        )
    )
    cases.append(
        Case(
            "import",
            "import",
            {"reps": startup_reps},
            "< 0.1 s",
            _lt("import_s", 0.1),
            ((lg, "import", {"reps": 5}), (sp, "import", {"reps": 5})),
            ratio="import",
        )
    )
    cases.append(
        Case(
            "cli-help",
            "cli-help",
            {"reps": startup_reps},
            "< 0.3 s",
            lambda m: None if not m.get("available") else m["wall_s"] < 0.3,
        )
    )
    cases += bpmn_plan(quick)
    cases += storage_plan(quick)
    cases += execution_plan(quick)
    cases += swarm_plan(quick)
    cases += langgraph_plan(quick)
    return cases


def bpmn_plan(quick: bool) -> list[Case | Derived]:
    """The BPMN group (``bench.bpmn_cases``; SpiffWorkflow on the same XML in ``bench.bpmn_peers``)."""
    sp, module = "spiffworkflow", "bench.bpmn_cases"
    chains: tuple[int, ...]
    forks: tuple[int, ...]
    if quick:
        chains, forks, parse_n, state_n = (100, 1_000), (100, 1_000), 1_000, 1_000
        reps = {100: 10, 1_000: 3}
    else:
        chains, forks, parse_n, state_n = (100, 1_000, 10_000, 100_000), (100, 1_000, 10_000), 10_000, 1_000
        reps = {100: 30, 1_000: 10, 10_000: 5, 100_000: 3}
    fork_reps = {100: 10, 1_000: 5, 10_000: 3}
    # SpiffWorkflow's defaults stop it past a few hundred chained nodes; at 1,000 it also runs with
    # raised limits (so the 1,000 chain has a ratio), beyond that its default failure is its result.
    spiff_chain = {100: {"reps": 5}, 1_000: {"reps": 3, "raise_limits": True}, 10_000: {"reps": 1}}
    cases: list[Case | Derived] = []
    for kind, label in (("script", "chain"), ("noop", "noop")):
        for n in chains:
            target: str | None = None
            check: Check | None = None
            peer_min: tuple[str, float] | None = None
            if kind == "script" and n == 1_000:
                target, peer_min = "≥ 20x SpiffWorkflow's steps/s", (sp, 20.0)
                check = _true("completed")
            elif n >= 100_000:
                target, check = "completes", _true("completed")
            peers: tuple[tuple[str, str, dict[str, Any]], ...] = ()
            if n in spiff_chain:
                peers = ((sp, "bpmn-chain", {"n": n, "kind": kind} | spiff_chain[n]),)
            cases.append(
                Case(
                    f"bpmn-{label}-{n}",
                    "chain",
                    {"n": n, "kind": kind, "reps": reps[n]},
                    target,
                    check,
                    peers,
                    module=module,
                    peer_min_ratio=peer_min,
                    note=None
                    if peers or n < 100_000
                    else "SpiffWorkflow is not run at 100,000 tasks (it cannot parse 10,000)",
                )
            )
        big = chains[-1]
        cases.append(
            Derived(
                f"bpmn-{label}-scaling",
                f"bpmn-{label}-{big}",
                f"bpmn-{label}-100",
                1.5,
                f"per-step cost of the {big:,} chain ≤ 1.5x that of the 100 chain",
            )
        )
    for n in forks:
        peers = ()
        note = None
        if n <= 1_000:
            peers = ((sp, "bpmn-fork", {"n": n, "kind": "script", "reps": 3 if n <= 100 else 1}),)
        else:
            note = "SpiffWorkflow is not run at 10,000 branches: its fork/join cost grows quadratically (see bpmn-fork-1000)"
        cases.append(
            Case(
                f"bpmn-fork-{n}",
                "fork",
                {"n": n, "kind": "script", "reps": fork_reps[n]},
                "≥ 100x SpiffWorkflow's steps/s" if n == 1_000 else None,
                _true("completed") if n == 1_000 else None,
                peers,
                note=note,
                module=module,
                peer_min_ratio=(sp, 100.0) if n == 1_000 else None,
            )
        )
    cases.append(
        Case(
            f"bpmn-parse-{parse_n}",
            "parse",
            {"n": parse_n, "kind": "script", "reps": 3},
            peers=((sp, "bpmn-parse", {"n": parse_n, "reps": 3, "raise_limits": True}),),
            ratio="parse_s",
            module=module,
            note=f"load only: the {parse_n:,}-script-task chain through the navigator (XML, model, compiled scripts, steps)",
        )
    )
    for shape, kind, suffix in (("chain", "script", ""), ("chain", "noop", "-noop"), ("fork", "script", "-fork")):
        judged = shape == "chain" and kind == "script"
        cases.append(
            Case(
                f"bpmn-state{suffix}-{state_n}",
                "state",
                {"shape": shape, "n": state_n, "kind": kind},
                "≤ 200 bytes of stored run state per step" if judged else None,
                (lambda m: None if m.get("bytes_per_step") is None else m["bytes_per_step"] <= 200) if judged else None,
                module=module,
            )
        )
    return cases


def _durable_chain_check(minimum: float, max_rss_mib: float | None) -> Check:
    def check(m: dict[str, Any]) -> bool | None:
        if m.get("steps_per_s") is None:
            return None
        rss_ok = max_rss_mib is None or m["maxrss_mib"] < max_rss_mib
        return bool(m.get("completed")) and m["steps_per_s"] >= minimum and rss_ok

    return check


def _bytes_check(m: dict[str, Any]) -> bool | None:
    if m.get("bytes_per_step") is None:
        return None
    return bool(m.get("completed")) and m["bytes_per_step"] <= 300


def _parked_check(m: dict[str, Any]) -> bool | None:
    if m.get("resume_ms") is None:
        return None
    return bool(m.get("parked")) and bool(m.get("resumed_completed")) and m["resume_ms"] < 10


def storage_plan(quick: bool) -> list[Case | Derived]:
    """The durable-storage group (``bench.storage_cases``, vrooli-sqlalchemy); LangGraph with its
    SQLite checkpointer beside it (``bench.storage_peers``)."""
    lg, module = "langgraph-sqlite", "bench.storage_cases"
    if quick:
        chains, unbatched, conc, parked, pg_parked = (1_000,), 100, 300, 300, 300
        reps = {1_000: 3}
    else:
        chains, unbatched, conc, parked, pg_parked = (1_000, 10_000), 1_000, 10_000, 10_000, 1_000
        reps = {1_000: 10, 10_000: 3}
    # One peer run serves both the chain and the bytes case (the same parameters, run once).
    lg_chain = (lg, "durable-chain", {"n": 1_000, "reps": 1})
    no_lg_chain = (
        "LangGraph's SQLite checkpointer is not run at 10,000 nodes: every checkpoint carries the versions "
        "each node has seen, so checkpoints grow with the steps run and the file and the time grow "
        "quadratically (about 70 KB per step and 140 steps/s at 1,000 nodes; see durable-chain-sqlite-1000)"
    )
    cases: list[Case | Derived] = []
    for backend, minimum in (("sqlite", 5_000), ("postgresql", 2_000)):
        for n in chains:
            big = n >= 10_000
            target = f"≥ {minimum:,} steps/s" + (", peak RSS < 200 MiB" if big else "")
            peers: tuple[tuple[str, str, dict[str, Any]], ...] = ()
            note = None
            if backend == "sqlite":
                peers, note = ((lg_chain,), None) if n == 1_000 else ((), no_lg_chain)
            cases.append(
                Case(
                    f"durable-chain-{backend}-{n}",
                    "durable-chain",
                    {"backend": backend, "n": n, "reps": reps[n]},
                    target,
                    _durable_chain_check(minimum, 200 if big else None),
                    peers,
                    note=note,
                    module=module,
                )
            )
    for backend in ("sqlite", "postgresql"):
        cases.append(
            Case(
                f"durable-chain-unbatched-{backend}-{unbatched}",
                "durable-chain",
                {"backend": backend, "n": unbatched, "reps": 3, "batch_events": 1},
                module=module,
                note="batch_events=1: every step's completion is its own commit (for contrast with the default 256)",
            )
        )
    cases.append(
        Case(
            f"durable-concurrent-sqlite-{conc}",
            "durable-concurrent",
            {"backend": "sqlite", "runs": conc, "latency_s": 0.05},
            "< 10 s wall",
            _lt("wall_s", 10.0, "completed"),
            ((lg, "durable-concurrent", {"runs": conc, "latency_s": 0.05}),),
            ratio="wall_s",
            module=module,
            note="the same number of runs on both sides: peer wall_s / vrooli wall_s",
        )
    )
    cases.append(
        Case(
            "durable-bytes-sqlite-1000",
            "durable-bytes",
            {"n": 1_000},
            "≤ 300 bytes per step (file growth, variables excluded)",
            _bytes_check,
            (lg_chain,),
            ratio="bytes_per_step",
            ratio_of="peer bytes_per_step / vrooli bytes_per_step (> 1: vrooli stores less)",
            module=module,
        )
    )
    for backend, runs in (("sqlite", parked), ("postgresql", pg_parked)):
        note = "runs parked on a human task with a message boundary keyed by the run's input; resumed by send_message(correlation=key)"
        if backend == "postgresql" and runs < parked:
            note += f"; {runs:,} runs, not {parked:,}: parking 10,000 runs one by one on PostgreSQL takes minutes"
        cases.append(
            Case(
                f"durable-parked-{backend}-{runs}",
                "durable-parked",
                {"backend": backend, "runs": runs, "lookups": 21},
                "resume by correlation key < 10 ms (median, engine opened afresh)",
                _parked_check,
                module=module,
                note=note,
            )
        )
    return cases


def execution_plan(quick: bool) -> list[Case | Derived]:
    """The execution-tier group (``bench.execution_cases``): model steps through a kernel fake and
    through vrooli-litellm (offline, zero-latency or 50 ms mocks), and sandboxed code steps."""
    module = "bench.execution_cases"
    if quick:
        fake_n, fake_reps, llm_n, llm_reps, conc, code_n = 1_000, 3, 200, 1, 200, 20
    else:
        fake_n, fake_reps, llm_n, llm_reps, conc, code_n = 10_000, 5, 1_000, 3, 1_000, 100
    return [
        Case(
            f"exec-overhead-fake-{fake_n}",
            "overhead-fake",
            {"n": fake_n, "reps": fake_reps},
            "≤ 200 µs per model step with a zero-latency fake model (the call included)",
            lambda m: None if m.get("us_per_model_step") is None else bool(m.get("completed")) and m["us_per_model_step"] <= 200,
            module=module,
            timeout=300,
            note="engine + executor per model step (a kernel fake strategy that answers at once); tool and noop chains for comparison",
        ),
        Case(
            f"exec-overhead-litellm-{llm_n}",
            "overhead-litellm",
            {"n": llm_n, "reps": llm_reps},
            "≤ 200 µs per model step beyond the model call",
            lambda m: None if m.get("overhead_us") is None else bool(m.get("completed")) and m["overhead_us"] <= 200,
            module=module,
            timeout=300,
            note="model call = time inside litellm's Router.acompletion (offline/echo: litellm mock_response)",
        ),
        Case(
            f"exec-concurrent-model-{conc}",
            "concurrent-model",
            {"runs": conc, "model": "fake", "latency_s": 0.05},
            "< 1 s wall",
            _lt("wall_s", 1.0, "completed"),
            module=module,
            timeout=300,
            note="runs of one model step, started at once; the kernel fake awaits anyio.sleep(0.05)",
        ),
        Case(
            f"exec-concurrent-model-{conc}-litellm",
            "concurrent-model",
            {"runs": conc, "model": "litellm", "latency_s": 0.05},
            "< 1 s wall",
            _lt("wall_s", 1.0, "completed"),
            module=module,
            timeout=300,
            note="the same through vrooli-litellm: offline/echo with litellm's mock_delay=0.05",
        ),
        Case(
            f"exec-sandbox-startup-{code_n}",
            "sandbox",
            {"n": code_n, "rounds": 1 if quick else 2},
            module=module,
            timeout=300,
            note="code steps with a trivial main(inputs): start-to-result per step, network cut (best_effort) and allowed",
        ),
    ]


def _overhead_check(limit_pct: float) -> Check:
    def check(m: dict[str, Any]) -> bool | None:
        if m.get("overhead_pct") is None:
            return None
        return bool(m.get("completed")) and m["overhead_pct"] <= limit_pct

    return check


def swarm_plan(quick: bool) -> list[Case | Derived]:
    """The swarm group (``bench.swarm_cases``, tier 1 coordination): a given plan of 100 tasks for
    10 agents with a 50 ms fake model, against the same runs through ``engine.run`` without the
    swarm, in the same process."""
    module = "bench.swarm_cases"
    reps = 1 if quick else 3
    shape = {"layers": 10, "width": 10, "agents": 10, "latency_s": 0.05, "max_parallel": 16, "reps": reps}
    target = "coordination overhead ≤ 10% (swarm wall / baseline wall - 1)"
    return [
        Case(
            "swarm-100",
            "swarm",
            shape | {"store": "memory"},
            target,
            _overhead_check(10.0),
            module=module,
            timeout=600,
            note="10 layers x 10 tasks (each on 1-2 tasks of the layer before), given plan (no planner), memory://; "
            "baseline: the same one-step agent routines and inputs through engine.run in dependency order",
        ),
        Case(
            "swarm-100-sqlite",
            "swarm",
            shape | {"store": "sqlite"},
            target,
            _overhead_check(10.0),
            module=module,
            timeout=600,
            note="the same on a new SQLite file per engine (vrooli-sqlalchemy), both sides",
        ),
    ]


def _ratio_check(key: str, limit: float) -> Check:
    def check(m: dict[str, Any]) -> bool | None:
        if m.get(key) is None:
            return None
        return bool(m.get("completed")) and m[key] <= limit

    return check


def langgraph_plan(quick: bool) -> list[Case | Derived]:
    """The vrooli-langgraph group (``bench.langgraph_cases``): LangGraph graphs run as vrooli
    routines against the same graphs run by LangGraph alone, in the same process, in memory and on
    SQLite files (vrooli-sqlalchemy against LangGraph's ``AsyncSqliteSaver``)."""
    module = "bench.langgraph_cases"
    chain_n = 100 if quick else 1_000
    chain_reps, chain_durable = (3, 1) if quick else (7, 3)
    fan_reps, fan_durable = (3, 1) if quick else (10, 5)
    target = "overhead ≤ 1.5x in-memory (vrooli memory:// / LangGraph InMemorySaver)"
    sides = (
        "sides: vrooli on memory:// and on a SQLite file; LangGraph alone without a checkpointer, with InMemorySaver "
        "and AsyncSqliteSaver (default durability and durability='sync', as the navigator runs graphs)"
    )
    return [
        Case(
            f"lg-chain-{chain_n}",
            "graph",
            {"shape": "chain", "n": chain_n, "reps": chain_reps, "durable_reps": chain_durable},
            target,
            _ratio_check("overhead_ratio", 1.5),
            module=module,
            timeout=900,
            note=f"a StateGraph of {chain_n:,} trivial sync nodes in a chain (each adds 1 to an int); {sides}",
        ),
        Case(
            "lg-fanout-100",
            "graph",
            {"shape": "fanout", "n": 100, "reps": fan_reps, "durable_reps": fan_durable},
            target,
            _ratio_check("overhead_ratio", 1.5),
            module=module,
            timeout=600,
            note=f"a start node, 100 branches by 100 edges, one join node waiting for all (operator.add counter); {sides}",
        ),
    ]


#: Group names that are not a prefix of their cases' names.
_GROUPS = {"execution": "exec", "langgraph": "lg"}


# -- running -----------------------------------------------------------------------------------


def _subprocess(module: str, args: list[str], timeout: float, env: dict[str, str]) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        out = subprocess.run(
            [sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT, env=env
        )
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {timeout:g} s", "timed_out": True, "timeout_s": timeout}
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        return {"error": f"exit code {out.returncode}: {out.stderr.strip()[-600:]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    result["process_wall_s"] = round(time.perf_counter() - t0, 3)
    return result


def _ratio(case: Case, mine: dict[str, Any], peer: dict[str, Any]) -> tuple[float | None, str]:
    if case.ratio == "import":
        a, b, what = (
            peer.get("import_s"),
            mine.get("engine_import_s"),
            "peer import_s / vrooli engine_import_s (`from vrooli_core import Engine`)",
        )
    else:
        a, b, what = (
            peer.get(case.ratio),
            mine.get(case.ratio),
            case.ratio_of or f"peer {case.ratio} / vrooli {case.ratio} (speedup; > 1: vrooli is faster)",
        )
    if not a or not b:
        return None, what
    return round(a / b, 2), what


def _ratio_met(target: tuple[str, float], record: dict[str, Any]) -> bool | None:
    """A speedup target over a peer: unknown (None) when that peer did not run or failed."""
    peer, minimum = target
    ratio = ((record.get("peers") or {}).get(peer) or {}).get("ratio")
    return None if ratio is None else ratio >= minimum


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", nargs="*", help="case names or groups (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes, no peers: a smoke run of a few seconds")
    peers = parser.add_mutually_exclusive_group()
    peers.add_argument("--no-peers", action="store_true", help="do not run peer engines")
    peers.add_argument("--peers", action="store_true", help="run peer engines even with --quick")
    parser.add_argument("--peer-timeout", type=float, default=300, help="seconds a peer case may take (default 300)")
    parser.add_argument(
        "--gc-off", action="store_true", help="disable the cyclic garbage collector in the vrooli cases"
    )
    parser.add_argument("--json-out", type=Path, help="also write every result as one JSON array to this file")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args(argv)

    from bench import peers as peer_mod

    everything = plan(args.quick)
    if args.list:
        for c in everything:
            print(c.name)
        return 0
    wanted = [_GROUPS.get(w, w) for w in args.cases]
    unknown = [w for w in wanted if not any(c.name == w or c.name.startswith(w + "-") for c in everything)]
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)} (see --list)")

    def selected(name: str) -> bool:
        return not wanted or any(name == w or name.startswith(w + "-") for w in wanted)

    run_peers = not args.no_peers and (args.peers or not args.quick)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])])
    if args.gc_off:
        env["BENCH_GC"] = "off"
    meta = {
        "date": datetime.date.today().isoformat(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "quick": args.quick,
        "gc": "off" if args.gc_off else "on",
    }
    measured: dict[str, dict[str, Any]] = {}
    peer_cache: dict[str, dict[str, Any]] = {}
    results: list[dict[str, Any]] = []
    started = time.perf_counter()
    for case in everything:
        if isinstance(case, Derived):
            if case.big not in measured or case.small not in measured:
                continue
            big, small = measured[case.big].get(case.key), measured[case.small].get(case.key)
            factor = round(big / small, 3) if big and small else None
            record: dict[str, Any] = {
                "name": case.name,
                "parameters": {"of": case.big, "over": case.small, "per_step": case.key},
                "measured": {"cost_ratio": factor, f"{case.big}_{case.key}": big, f"{case.small}_{case.key}": small},
                "target": case.target,
                "met": None if case.limit is None or factor is None else factor <= case.limit,
            }
        else:
            if not selected(case.name):
                continue
            _log(f"[bench] {case.name} ...")
            load_avg = round(os.getloadavg()[0], 2)  # other work on the machine when the case started
            mine = _subprocess(case.module, [case.kind, json.dumps(case.params)], case.timeout, env)
            measured[case.name] = mine
            record = {
                "name": case.name,
                "parameters": case.params,
                "measured": mine,
                "target": case.target,
                "met": None if case.check is None or "error" in mine else case.check(mine),
            }
            if case.target is not None and "error" in mine:
                record["met"] = False
            if not mine.get("available", True):  # e.g. no `vrooli` command, or no BPMN plugin installed
                record["unavailable"] = True
                record["met"] = None
            if case.note:
                record["note"] = case.note
            if run_peers and case.peers and not record.get("unavailable"):
                record["peers"] = {}
                for peer, peer_case, params in case.peers:
                    key = json.dumps([peer, peer_case, params])
                    if key not in peer_cache:
                        if not peer_mod.available(peer):
                            peer_cache[key] = {"available": False}
                        else:
                            _log(f"[bench]   peer {peer} {peer_case} {params} ...")
                            peer_cache[key] = _subprocess(
                                "bench.peers", [peer, peer_case, json.dumps(params)], args.peer_timeout, env
                            )
                    pres = peer_cache[key]
                    if pres.get("available") is False:
                        continue
                    ratio, what = _ratio(case, mine, pres) if "error" not in pres else (None, "")
                    entry: dict[str, Any] = {
                        "parameters": {"case": peer_case, **params},
                        "measured": pres,
                        "ratio": ratio,
                    }
                    if what:
                        entry["ratio_of"] = what
                    record["peers"][peer] = entry
            if case.peer_min_ratio is not None and record["met"] is not False:
                record["met"] = _ratio_met(case.peer_min_ratio, record)
        record["meta"] = meta if isinstance(case, Derived) else meta | {"load_avg_1m": load_avg}
        results.append(record)
        print(json.dumps(record), flush=True)
    _log(f"[bench] done in {time.perf_counter() - started:.1f} s")
    _log(summary_table(results))
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


# -- the summary table -------------------------------------------------------------------------

_HEADLINE = (
    ("steps_per_s", "{:,.0f} steps/s"),
    ("cost_ratio", "{:.2f}x"),
    ("wall_s", "{:.3f} s wall"),
    ("import_s", "{:.4f} s"),
)


def headline(record: dict[str, Any]) -> str:
    m = record["measured"]
    if "error" in m:
        return "error: " + str(m["error"])[:60]
    if record.get("unavailable"):
        return "unavailable" + (f": {str(m['reason'])[:70]}" if m.get("reason") else "")
    name = record["name"]
    if name.startswith(("exec-", "swarm-", "lg-")) and m.get("headline"):
        return str(m["headline"])
    if name.startswith("durable-"):
        return _durable_headline(name, m)
    if name.startswith("bpmn-"):
        if "bytes_per_step" in m:
            return f"{m['bytes_per_step']:,.0f} bytes/step ({m['events']:,} events)"
        if "parse_s" in m:
            return f"{m['parse_s']:.3f} s ({m['us_per_node']} µs/node)"
        if name.startswith("bpmn-fork") and "run_s" in m:
            return f"{m['run_s']:.3f} s ({m['steps_per_s']:,.0f} steps/s)"
        if "steps_per_s" in m:
            return f"{m['steps_per_s']:,.0f} steps/s ({m['us_per_step']:.1f} µs/step)"
    if name.startswith("fork"):
        return f"{m['run_s']:.3f} s ({m['steps_per_s']:,.0f} steps/s)"
    if name.startswith("parked"):
        return f"peak RSS {m['maxrss_mib']:,.0f} MiB ({m['kib_per_parked_run']} KiB/run)"
    if name.startswith("load-") and "us_per_step" in m:
        return f"{m['load_s']:.3f} s ({m['us_per_step']} µs/step)"
    if name.startswith("chain-") and name.count("-") <= 2 and "steps_per_s" in m:
        return f"{m['steps_per_s']:,.0f} steps/s ({m['us_per_step']:.1f} µs/step)"
    for key, fmt in _HEADLINE:
        if m.get(key) is not None:
            return fmt.format(m[key])
    return ""


def _durable_headline(name: str, m: dict[str, Any]) -> str:
    if name.startswith("durable-chain"):
        return f"{m['steps_per_s']:,.0f} steps/s ({m['us_per_step']:.0f} µs/step), peak RSS {m['maxrss_mib']:.0f} MiB"
    if name.startswith("durable-bytes"):
        return f"{m['bytes_per_step']:,.0f} bytes/step ({m['bytes_per_step_vacuumed']:,.0f} after VACUUM)"
    if name.startswith("durable-parked"):
        return (
            f"resume {m['resume_ms']:.1f} ms median; {m['database_bytes'] / 2**20:,.1f} MiB "
            f"({m['bytes_per_parked_run']:,.0f} B/run)"
        )
    return f"{m['wall_s']:.2f} s wall ({m['runs_per_s']:,.0f} runs/s)"


def summary_table(results: list[dict[str, Any]]) -> str:
    rows = ["| case | measured | target | met | peer speedup |", "|---|---|---|---|---|"]
    for r in results:
        met = {True: "yes", False: "**no**", None: "—"}[r["met"]]
        peers = []
        for peer, entry in (r.get("peers") or {}).items():
            pm = entry["measured"]
            if entry.get("ratio") is not None:
                tuned = " (raised limits)" if pm.get("settings", "default") != "default" else ""
                if "bytes" in entry.get("ratio_of", ""):
                    tuned += " fewer bytes"
                peers.append(f"{peer} {entry['ratio']}x{tuned}")
            elif "error" in pm:
                failed = "cannot parse" if str(pm["error"]).startswith("parse:") else "failed"
                peers.append(f"{peer}: {'timed out' if pm.get('timed_out') else failed}")
        rows.append(f"| {r['name']} | {headline(r)} | {r['target'] or '—'} | {met} | {', '.join(peers) or '—'} |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
