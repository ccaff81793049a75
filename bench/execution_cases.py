"""The vrooli side of the execution-tier cases: model, tool and code steps. One case per process:

    python -m bench.execution_cases CASE '{"param": value, ...}'

prints one JSON object, like ``bench.cases`` (the driver, ``bench.run``, adds the target and whether
it is met). Flows are generated as JSON for the flow test navigator, on ``memory://`` storage.

- ``overhead-fake``: one run of N ``model`` steps in sequence, executed by :class:`BenchModel`, a
  kernel-level fake strategy that answers at once: the engine's and executor's cost per model step;
  the same chain with ``tool`` steps (``bench_noop``) and with ``noop`` steps for comparison.
- ``overhead-litellm``: one run of N ``conversational`` steps through vrooli-litellm with the
  ``offline/echo`` model (litellm's ``mock_response``: no network, no latency). ``Router.acompletion``
  and ``litellm.acompletion`` are timed, so the cost beyond the model call is split into the engine
  and executor, the plugin's prompt and response handling, and litellm's Router.
- ``concurrent-model``: N runs of one model step whose model waits 50 ms (``anyio.sleep`` in the
  fake, litellm's ``mock_delay`` through vrooli-litellm), all started at once: wall time. Also one
  run fanning out to N model-step branches.
- ``sandbox``: one run of N ``code`` steps with a trivial ``main(inputs)``: time from the start of
  each step to its result, with the network cut (the default, ``best_effort``) and with
  ``network = "allow"``.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, ClassVar

import anyio

from bench import workloads as w
from vrooli_core import Engine, hookimpl
from vrooli_core.execution.strategy import StepContext, Strategy
from vrooli_core.model import Outcome, StepKind, Usage

# -- the fake model ----------------------------------------------------------------------------

_ONE_CALL = Usage(model_calls=1)


class BenchModel(Strategy):
    """A kernel-level fake model: answers ``"ok"`` at once (or after ``latency`` seconds on the real
    clock). Named ``conversational`` so that model steps reach it through the engine's auto policy,
    as they reach vrooli-litellm's strategy."""

    name: ClassVar[str] = "conversational"
    kinds: ClassVar[frozenset[StepKind]] = frozenset({StepKind.MODEL})
    latency: ClassVar[float] = 0.0

    async def execute(self, ctx: StepContext) -> Outcome:
        if self.latency:
            await anyio.sleep(self.latency)
        return Outcome(output="ok", usage=_ONE_CALL)


class _FakeModelPlugin:
    @hookimpl
    def vrooli_register_strategies(self) -> list[type[Strategy]]:
        return [BenchModel]


def _litellm_plugin() -> Any:
    from vrooli_litellm.plugin import LiteLLMPlugin
    from vrooli_litellm.settings import LiteLLMSettings

    return LiteLLMPlugin(LiteLLMSettings(default_model="offline/echo"))


@contextlib.asynccontextmanager
async def open_engine(model: str, **kwargs: Any) -> AsyncIterator[Engine]:
    """An engine on ``memory://`` with the builtins, the flow navigator, the bench tools, and the model
    strategy ``fake`` (:class:`BenchModel`), ``litellm`` (vrooli-litellm) or ``none``."""
    host = w.make_host()
    if model == "fake":
        host.register(_FakeModelPlugin(), "bench-fake-model")
    elif model == "litellm":
        host.register(_litellm_plugin(), "litellm")
    async with Engine.open("memory://", host=host, tools=w.TOOLS, **kwargs) as engine:
        yield engine


# -- flows -------------------------------------------------------------------------------------

#: Inputs of every model flow: the prompt's one field.
INPUTS = {"name": "Ada"}


def _model_step(i: int, params: dict[str, Any] | None = None) -> dict[str, Any]:
    step: dict[str, Any] = {
        "kind": "model",
        "system": "You are terse.",
        "prompt": f"Step {i}: say hello to {{name}}.",
        "in": {"name": "name"},
        "out": {"reply": ""},
    }
    if params:
        step["config"] = {"params": params}
    return step


def _step(kind: str, i: int, params: dict[str, Any] | None = None) -> dict[str, Any]:
    if kind == "model":
        return _model_step(i, params)
    if kind == "tool":
        return {"kind": "tool", "tool": "bench_noop", "in": {}}
    if kind == "noop":
        return {}
    raise ValueError(f"unknown step kind {kind!r} (model, tool or noop)")


def chain(n: int, kind: str, params: dict[str, Any] | None = None) -> str:
    """``s0 -> s1 -> ... -> s{n-1}``, every step of ``kind``."""
    steps = {f"s{i}": _step(kind, i, params) | ({"next": f"s{i + 1}"} if i < n - 1 else {}) for i in range(n)}
    return json.dumps({"id": f"exec-{kind}-{n}", "start": "s0", "steps": steps})


def fan_out(n: int, params: dict[str, Any] | None = None) -> str:
    """``fork -> m0..m{n-1} -> join``: n model steps in parallel branches."""
    steps: dict[str, Any] = {"fork": {"next": [f"m{i}" for i in range(n)]}}
    for i in range(n):
        steps[f"m{i}"] = _model_step(i, params) | {"out": {f"r{i}": ""}, "next": "join"}
    steps["join"] = {"join": n}
    return json.dumps({"id": f"exec-fan-{n}", "start": "fork", "steps": steps})


def code_chain(n: int, network: str) -> str:
    source = "def main(inputs):\n    return {'ok': True}\n"
    steps = {
        f"c{i}": {"kind": "code", "code": source, "network": network, "in": {}, "out": {"ok": "ok"}}
        | ({"next": f"c{i + 1}"} if i < n - 1 else {})
        for i in range(n)
    }
    return json.dumps({"id": f"exec-code-{network}-{n}", "start": "c0", "steps": steps})


# -- timing ------------------------------------------------------------------------------------


def _us(seconds: float, n: int) -> float:
    return round(seconds / n * 1e6, 2)


async def _chain_runs(
    model: str, text: str, n: int, reps: int, timers: w.Timers | None = None, warm: str | None = None
) -> tuple[dict[str, Any], list[dict[str, float]]]:
    """``reps`` runs of the chain ``text`` (N steps), each in a fresh engine after a warm-up run of
    ``warm`` (else of the same chain) in it; returns the medians and each repetition's timer totals."""
    runs: list[float] = []
    gcs: list[float] = []
    per_rep: list[dict[str, float]] = []
    status, steps, ok = "", 0, False
    with w.GcTimer() as gct:
        for _ in range(reps):
            async with open_engine(model) as engine:
                routine, _ = await w.load(engine, text)
                warm_routine = routine if warm is None else (await w.load(engine, warm))[0]
                await engine.run(warm_routine, INPUTS)  # warm-up: first-call costs (litellm's Router, caches)
                gc.collect()
                if timers is not None:
                    timers.reset()
                gct.reset()
                gct.active = True
                t0 = time.perf_counter()
                run = await engine.run(routine, INPUTS)
                elapsed = time.perf_counter() - t0
                gct.active = False
                status, steps = str(run.status), run.steps
                ok = status == "completed" and steps == n
                runs.append(elapsed)
                gcs.append(gct.seconds)
                if timers is not None:
                    per_rep.append(dict(timers.seconds) | {f"{k}_calls": float(v) for k, v in timers.calls.items()})
            if not ok:
                break
    med = w.median(runs)
    return {
        "status": status,
        "completed": ok,
        "steps": steps,
        "reps": len(runs),
        "run_s": w.rounded(med),
        "run_s_min": w.rounded(min(runs)),
        "us_per_step": _us(med, n),
        "steps_per_s": round(n / med, 1),
        "gc_share": round(w.median(gcs) / med, 3),
    }, per_rep


def _median_split(per_rep: list[dict[str, float]], key: str, n: int) -> float | None:
    values = [rep.get(key, 0.0) for rep in per_rep]
    return _us(statistics.median(values), n) if values else None


# -- case 1: engine + executor per model step, with a fake that answers at once ------------------


async def _overhead_fake(n: int, reps: int) -> dict[str, Any]:
    from vrooli_core.execution.executor import Executor

    out: dict[str, Any] = {"n": n}
    for kind in ("model", "tool", "noop"):
        result, _ = await _chain_runs("fake", chain(n, kind), n, reps)
        out[kind] = result
    # One more run of the model chain with the executor and the strategy timed (a few µs of wrapper
    # cost each): what of the step is the executor's, and what the engine's around it.
    timers = w.Timers()
    with timers.patch(Executor, "execute", "executor"), timers.patch(BenchModel, "execute", "strategy"):
        split, per_rep = await _chain_runs("fake", chain(n, "model"), n, 1, timers)
    executor_us = _median_split(per_rep, "executor", n) or 0.0
    strategy_us = _median_split(per_rep, "strategy", n) or 0.0
    out["model_split"] = {
        "us_per_step_timed_run": split["us_per_step"],
        "engine_us": round(split["us_per_step"] - executor_us, 2),
        "executor_us": round(executor_us - strategy_us, 2),
        "fake_strategy_us": strategy_us,
    }
    model_us, tool_us, noop_us = out["model"]["us_per_step"], out["tool"]["us_per_step"], out["noop"]["us_per_step"]
    out |= {
        "completed": all(out[k]["completed"] for k in ("model", "tool", "noop")),
        "us_per_model_step": model_us,
        "us_per_tool_step": tool_us,
        "us_per_noop_step": noop_us,
        "headline": f"model {model_us:.1f} µs/step (tool {tool_us:.1f}, noop {noop_us:.1f})",
    }
    return out


def case_overhead_fake(p: dict[str, Any]) -> dict[str, Any]:
    return anyio.run(_overhead_fake, int(p["n"]), int(p.get("reps", 3)))


# -- case 2: vrooli-litellm beyond the model call ----------------------------------------------


async def _bare_litellm(litellm: Any, calls: int, model: str = "openai/offline-echo") -> float:
    """Seconds per ``litellm.acompletion`` of ``model`` with ``mock_response``, without the Router."""
    messages = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Say hello to Ada."}]
    kwargs = {"model": model, "api_key": "offline-no-key", "mock_response": "Say hello to Ada."}
    for _ in range(20):
        await litellm.acompletion(messages=messages, **kwargs)
    t0 = time.perf_counter()
    for _ in range(calls):
        await litellm.acompletion(messages=messages, **kwargs)
    return (time.perf_counter() - t0) / calls


async def _overhead_litellm(n: int, reps: int) -> dict[str, Any]:
    from vrooli_litellm import base
    from vrooli_litellm.client import load_litellm

    from vrooli_core.execution.executor import Executor

    t0 = time.perf_counter()
    litellm = load_litellm()
    import_s = time.perf_counter() - t0
    # The same chain with the kernel fake, in this process: the engine's own cost per model step.
    fake, _ = await _chain_runs("fake", chain(n, "model"), n, reps)
    timers = w.Timers()
    with (
        timers.patch(Executor, "execute", "executor"),
        timers.patch(base.ModelStrategy, "execute", "strategy"),
        timers.patch(litellm.Router, "acompletion", "router"),
        timers.patch(litellm, "acompletion", "litellm"),
    ):
        result, per_rep = await _chain_runs("litellm", chain(n, "model"), n, reps, timers, warm=chain(50, "model"))
    step_us = result["us_per_step"]
    executor_us = _median_split(per_rep, "executor", n) or 0.0
    strategy_us = _median_split(per_rep, "strategy", n) or 0.0
    router_us = _median_split(per_rep, "router", n) or 0.0
    inner_us = _median_split(per_rep, "litellm", n) or 0.0
    calls = int(per_rep[-1].get("router_calls", 0)) if per_rep else 0
    # The same chain with the Router answering a stored response at once: vrooli and the plugin
    # without litellm's per-call work (nor its background logging tasks and threads).
    stored = await litellm.Router(
        model_list=[{"model_name": "m", "litellm_params": {"model": "openai/offline-echo", "api_key": "k"}}]
    ).acompletion(model="m", messages=[{"role": "user", "content": "hi"}], mock_response="Say hello to Ada.")

    async def stub(self: Any, *args: Any, **kwargs: Any) -> Any:
        return stored

    stub_timers = w.Timers()
    with (
        stub_timers.patch(Executor, "execute", "executor"),
        stub_timers.patch(base.ModelStrategy, "execute", "strategy"),
        _replaced(litellm.Router, "acompletion", stub),
    ):
        stubbed, stub_rep = await _chain_runs(
            "litellm", chain(n, "model"), n, reps, stub_timers, warm=chain(50, "model")
        )
    s_exec = _median_split(stub_rep, "executor", n) or 0.0
    s_strat = _median_split(stub_rep, "strategy", n) or 0.0
    bare_s = await _bare_litellm(litellm, min(n, 200))
    # A model litellm has a price for: the offline deployment's name is not in its cost map, and
    # litellm searches for it (and records a zero-cost diagnostic) on every call.
    priced_s = await _bare_litellm(litellm, min(n, 200), "openai/gpt-4o-mini")
    overhead = round(step_us - router_us, 2)
    return {
        "n": n,
        "model": "offline/echo (litellm mock_response)",
        "litellm_version": getattr(litellm, "version", None) or _version("litellm"),
        "litellm_import_s": w.rounded(import_s),
        "model_calls_per_run": calls,
        "us_per_step": step_us,
        "model_call_us": router_us,
        "overhead_us": overhead,
        "split_us": {
            "engine": round(step_us - executor_us, 2),
            "executor": round(executor_us - strategy_us, 2),
            "plugin": round(strategy_us - router_us, 2),
            "router_own": round(router_us - inner_us, 2),
            "litellm_acompletion": inner_us,
        },
        "bare_litellm_acompletion_us": round(bare_s * 1e6, 2),
        "bare_litellm_acompletion_priced_model_us": round(priced_s * 1e6, 2),
        "stubbed_router": {
            "us_per_step": stubbed["us_per_step"],
            "engine_us": round(stubbed["us_per_step"] - s_exec, 2),
            "executor_us": round(s_exec - s_strat, 2),
            "plugin_us": s_strat,
        },
        "fake_model_us_per_step": fake["us_per_step"],
        "engine_beyond_fake_us": round(step_us - executor_us - fake["us_per_step"], 2),
        "run": result,
        "completed": result["completed"] and calls == n,
        "headline": f"{overhead:.0f} µs/step beyond the model call (model call {router_us:.0f} µs)",
    }


@contextlib.contextmanager
def _replaced(owner: Any, attr: str, value: Any) -> Iterator[None]:
    original = getattr(owner, attr)
    setattr(owner, attr, value)
    try:
        yield
    finally:
        setattr(owner, attr, original)


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def case_overhead_litellm(p: dict[str, Any]) -> dict[str, Any]:
    return anyio.run(_overhead_litellm, int(p["n"]), int(p.get("reps", 3)))


# -- case 3: concurrent model steps that each wait 50 ms ---------------------------------------


async def _concurrent(model: str, runs: int, latency: float, fan: bool) -> dict[str, Any]:
    params = {"mock_delay": latency} if model == "litellm" else None
    BenchModel.latency = latency
    one = json.dumps({"id": "exec-one", "start": "m", "steps": {"m": _model_step(0, params)}})
    out: dict[str, Any] = {"model": model, "runs": runs, "latency_s": latency}
    async with open_engine(model) as engine:
        routine, _ = await w.load(engine, one)
        for _ in range(3):
            await engine.run(routine, INPUTS)  # warm-up: first-call costs
        gc.collect()
        with w.GcTimer() as gct:
            gct.active = True
            t0 = time.perf_counter()
            ids = [(await engine.start(routine, INPUTS)).id for _ in range(runs)]
            started = time.perf_counter() - t0
            finished = [await engine.wait(run_id, finished=True) for run_id in ids]
            wall = time.perf_counter() - t0
            gct.active = False
    statuses = Counter(str(r.status) for r in finished)
    out |= {
        "statuses": dict(statuses),
        "completed": statuses.get("completed", 0) == runs,
        "wall_s": w.rounded(wall),
        "start_phase_s": w.rounded(started),
        "beyond_latency_s": w.rounded(wall - latency),
        "gc_share": round(gct.seconds / wall, 3),
    }
    if fan:  # one run, one branch per model step (max_concurrency: one per branch, not the default 32)
        async with open_engine(model, max_concurrency=runs) as engine:
            routine, _ = await w.load(engine, fan_out(runs, params))
            await engine.run(routine, INPUTS)  # warm-up
            gc.collect()
            t0 = time.perf_counter()
            run = await engine.run(routine, INPUTS)
            fan_s = time.perf_counter() - t0
        out["fan_out"] = {
            "branches": runs,
            "max_concurrency": runs,
            "status": str(run.status),
            "steps": run.steps,
            "wall_s": w.rounded(fan_s),
        }
    fan_note = f"; one run of {runs:,} branches {out['fan_out']['wall_s']:.3f} s" if fan else ""
    out["headline"] = f"{wall:.3f} s wall{fan_note}"
    return out


def case_concurrent_model(p: dict[str, Any]) -> dict[str, Any]:
    return anyio.run(
        _concurrent,
        p.get("model", "fake"),
        int(p["runs"]),
        float(p.get("latency_s", 0.05)),
        bool(p.get("fan_out", True)),
    )


# -- case 4: sandboxed code steps --------------------------------------------------------------


def _ms_stats(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "median_ms": round(statistics.median(ordered) * 1e3, 2),
        "p95_ms": round(p95 * 1e3, 2),
        "min_ms": round(ordered[0] * 1e3, 2),
        "max_ms": round(ordered[-1] * 1e3, 2),
    }


def _python_startup(reps: int) -> float:
    """Seconds of the best ``python -I -B -c pass`` (what a child interpreter costs by itself)."""
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-B", "-c", "pass"], check=True, env={"PATH": os.defpath})
        best = min(best, time.perf_counter() - t0)
    return best


async def _sandbox(n: int, rounds: int) -> dict[str, Any]:
    from vrooli_core.execution.code import CodeStrategy

    samples: dict[str, list[float]] = {"best_effort": [], "allow": []}
    run_s: dict[str, list[float]] = {"best_effort": [], "allow": []}
    isolation: dict[str, Counter[str]] = {"best_effort": Counter(), "allow": Counter()}
    ok = True
    # The two modes alternate, so that a change in the machine's load weighs on both alike.
    for _ in range(rounds):
        for network in ("best_effort", "allow"):
            async with open_engine("none") as engine:
                routine, _ = await w.load(engine, code_chain(n, network))
                warm, _ = await w.load(engine, code_chain(3, network).replace("exec-code", "exec-warm"))
                await engine.run(warm)
                seen = isolation[network]
                engine.bus.subscribe(lambda e, seen=seen: seen.update([e.payload.network]), types=["step.sandbox"])
                seconds: list[float] = []
                original = CodeStrategy.execute

                async def timed(
                    self: CodeStrategy, ctx: StepContext, original: Any = original, seconds: list[float] = seconds
                ) -> Outcome:
                    t0 = time.perf_counter()
                    try:
                        return await original(self, ctx)
                    finally:
                        seconds.append(time.perf_counter() - t0)

                CodeStrategy.execute = timed  # type: ignore[method-assign]
                try:
                    t0 = time.perf_counter()
                    run = await engine.run(routine)
                    run_s[network].append(time.perf_counter() - t0)
                finally:
                    CodeStrategy.execute = original  # type: ignore[method-assign]
                ok = ok and str(run.status) == "completed" and run.steps == n
                samples[network].extend(seconds)
    cut, allow = _ms_stats(samples["best_effort"]), _ms_stats(samples["allow"])
    startup = _python_startup(10)
    return {
        "n": n,
        "rounds": rounds,
        "completed": ok,
        "network_cut": cut,
        "network_allow": allow,
        "cut_cost_ms": round(cut["median_ms"] - allow["median_ms"], 2),
        "run_ms_per_step": {k: round(w.median(v) / n * 1e3, 2) for k, v in run_s.items()},
        "isolation": {k: dict(v) for k, v in isolation.items()},
        "python_startup_ms": round(startup * 1e3, 2),
        "headline": (
            f"cut: {cut['median_ms']:.1f} ms median, {cut['p95_ms']:.1f} p95; "
            f"allow: {allow['median_ms']:.1f} / {allow['p95_ms']:.1f} ms"
        ),
    }


def case_sandbox(p: dict[str, Any]) -> dict[str, Any]:
    return anyio.run(_sandbox, int(p["n"]), int(p.get("rounds", 1)))


CASES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "overhead-fake": case_overhead_fake,
    "overhead-litellm": case_overhead_litellm,
    "concurrent-model": case_concurrent_model,
    "sandbox": case_sandbox,
}


def main(argv: list[str]) -> int:
    name, params = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    if os.environ.get("BENCH_GC") == "off":
        gc.disable()
    try:
        result = CASES[name](params)
    except ImportError as exc:  # vrooli-litellm (or litellm) is not installed
        result = {"available": False, "reason": f"{type(exc).__name__}: {exc}"}
    result.setdefault("maxrss_mib", w.peak_rss_mib())
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
