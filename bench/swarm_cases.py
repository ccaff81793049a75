"""The vrooli side of the swarm cases (tier 1, coordination). One case per process:

    python -m bench.swarm_cases CASE '{"param": value, ...}'

prints one JSON object, like ``bench.cases`` (the driver, ``bench.run``, adds the target and whether
it is met).

- ``swarm``: a team of ``agents`` agents (all able to ``work``) runs a given plan (no planner run) of
  ``layers`` x ``width`` tasks: task ``t<L>.<j>`` depends on ``t<L-1>.<j>`` and, for even ``j``, also
  on ``t<L-1>.<j+1 mod width>``, so each layer waits for the one before it and the critical path is
  ``layers`` model calls. Every task is the assigned agent's one-step routine (a ``model`` step,
  ``swarms._agent_routine``) executed by :class:`SwarmModel`, a kernel fake that awaits ``latency_s``
  on the real clock and answers a ``result_chars``-long text. The baseline, in the same process, runs
  the same routines with the same inputs (the shape ``build_context`` gives), labels and run ids,
  in the same dependency order and with the same parallelism (a task's run starts once its
  dependencies' runs completed, at most ``max_parallel`` at once), through ``engine.run`` directly:
  no plan check, assignment, blackboard, swarm events nor swarm storage. Overhead =
  swarm wall / baseline wall - 1. Store: ``memory://``, or a new SQLite file per engine
  (``store = "sqlite"``, vrooli-sqlalchemy).
"""

from __future__ import annotations

import contextlib
import gc
import json
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, ClassVar

import anyio

from bench import workloads as w
from vrooli_core import Engine, hookimpl
from vrooli_core.coordination import Agent, SwarmLimits, SwarmStatus, Team
from vrooli_core.coordination.assign import assign_tasks, candidates_of
from vrooli_core.coordination.permissions import agent_labels
from vrooli_core.coordination.plan import Plan, PlannedTask
from vrooli_core.coordination.swarms import SWARM_LABEL, TASK_LABEL, SwarmRunner, _agent_routine
from vrooli_core.execution.strategy import StepContext, Strategy
from vrooli_core.model import Outcome, RunStatus, StepKind, Usage

TARGET = "coordination overhead <= 10%"
OBJECTIVE = "Work through the benchmark plan"

# -- the fake model ----------------------------------------------------------------------------

_ONE_CALL = Usage(model_calls=1)


class SwarmModel(Strategy):
    """A kernel-level fake model for agents' task steps: awaits ``latency`` seconds on the real clock,
    then answers a text of ``result_chars`` characters naming the task. Named ``conversational`` (an
    agent without tools: strategy ``auto``); :class:`SwarmReasoningModel` is the same for
    ``reasoning`` (an agent with tools)."""

    name: ClassVar[str] = "conversational"
    kinds: ClassVar[frozenset[StepKind]] = frozenset({StepKind.MODEL})
    latency: ClassVar[float] = 0.05
    result_chars: ClassVar[int] = 200
    calls: ClassVar[int] = 0

    async def execute(self, ctx: StepContext) -> Outcome:
        type(self).calls += 1
        if self.latency:
            await anyio.sleep(self.latency)
        task = ctx.inputs.get("task", {}).get("id", "?") if isinstance(ctx.inputs, dict) else "?"
        text = f"result of {task}: "
        return Outcome(output=(text + "x" * self.result_chars)[: max(self.result_chars, len(text))], usage=_ONE_CALL)


class SwarmReasoningModel(SwarmModel):
    name: ClassVar[str] = "reasoning"


class _FakeModelPlugin:
    @hookimpl
    def vrooli_register_strategies(self) -> list[type[Strategy]]:
        return [SwarmModel, SwarmReasoningModel]


# -- engines -----------------------------------------------------------------------------------


def missing(store: str) -> str | None:
    """Why ``store`` (``memory`` or ``sqlite``) cannot run here, or None when it can."""
    if store == "memory":
        return None
    from bench import stores

    return stores.missing(store)


@contextlib.asynccontextmanager
async def open_engine(store: str) -> AsyncIterator[Engine]:
    """An engine on a new, empty store (``memory://``, or a SQLite file in a temporary folder) with
    the bench's host and the fake model strategies."""
    if store == "memory":
        host = w.make_host()
        host.register(_FakeModelPlugin(), "bench-swarm-model")
        async with Engine.open("memory://", host=host, tools=w.TOOLS) as engine:
            yield engine
        return
    from bench import stores

    host = stores.make_host()
    host.register(_FakeModelPlugin(), "bench-swarm-model")
    with stores.store_url(store) as url:
        async with stores.open_at(url, host=host) as engine:
            yield engine


# -- the workload ------------------------------------------------------------------------------


def make_team(agents: int) -> Team:
    return Team(
        "bench-team",
        "Benchmark team",
        goals=("finish the plan",),
        agents=tuple(
            Agent(f"agent{i:02d}", "worker", goal="do the task well", capabilities=("work",)) for i in range(agents)
        ),
    )


def make_plan(layers: int, width: int) -> Plan:
    """``layers`` layers of ``width`` tasks; ``t<L>.<j>`` depends on ``t<L-1>.<j>`` and, for even
    ``j``, on ``t<L-1>.<j+1 mod width>`` too (one or two dependencies, deterministic)."""
    tasks = []
    for layer in range(layers):
        for j in range(width):
            deps: tuple[str, ...] = ()
            if layer:
                deps = (f"t{layer - 1}.{j}",)
                if j % 2 == 0 and width > 1:
                    deps += (f"t{layer - 1}.{(j + 1) % width}",)
            tasks.append(
                PlannedTask(f"t{layer}.{j}", f"Task {j} of layer {layer}", depends_on=deps, capabilities=("work",))
            )
    return Plan(tuple(tasks))


def _inputs(team: Team, agent: Agent, owner: str, task: PlannedTask, results: dict[str, Any]) -> dict[str, Any]:
    """A task run's inputs in the shape ``coordination.context.build_context`` gives them (no
    knowledge granted, nothing on the blackboard beyond the task's own inputs)."""
    return {
        "objective": OBJECTIVE,
        "task": {
            "id": task.id,
            "title": task.title,
            "description": task.description,
            "depends_on": list(task.depends_on),
        },
        "inputs": {dep: results[dep] for dep in task.depends_on},
        "context": {
            "system": {"swarm": owner},
            "team": {"name": team.name, "goals": list(team.goals), "knowledge": {}},
            "swarm": {"objective": OBJECTIVE, "blackboard": {}},
            "member": {"agent": agent.name, "role": agent.role, "goal": agent.goal},
        },
    }


async def run_baseline(
    engine: Engine, team: Team, plan: Plan, assignee: dict[str, str], max_parallel: int, owner: str
) -> bool:
    """The plan's task runs without the swarm: each task's run starts once its dependencies' runs
    have completed (at most ``max_parallel`` at once); a dependency's result is its run's output."""
    done = {t.id: anyio.Event() for t in plan.tasks}
    results: dict[str, Any] = {}
    failed: list[str] = []
    limiter = anyio.CapacityLimiter(max_parallel)
    routines = {a.name: _agent_routine(a) for a in team.agents}
    agents = {a.name: a for a in team.agents}

    async def one(task: PlannedTask) -> None:
        for dep in task.depends_on:
            await done[dep].wait()
        agent = agents[assignee[task.id]]
        labels = {SWARM_LABEL: owner, TASK_LABEL: task.id} | agent_labels(agent.name, agent.tools)
        async with limiter:
            run = await engine.run(
                routines[agent.name],
                _inputs(team, agent, owner, task, results),
                labels=labels,
                run_id=f"{owner}.{task.id}.g0.a1",
            )
        if run.status is not RunStatus.COMPLETED:
            failed.append(task.id)
        results[task.id] = (run.outputs or {}).get("result")
        done[task.id].set()

    async with anyio.create_task_group() as tg:
        for task in plan.tasks:
            tg.start_soon(one, task)
    return not failed


async def run_swarm(engine: Engine, team: Team, plan: Plan, max_parallel: int, swarm_id: str) -> bool:
    runner = SwarmRunner(engine, max_parallel=max_parallel)
    swarm = await runner.run(team, OBJECTIVE, plan=plan, limits=SwarmLimits(), swarm_id=swarm_id)
    return swarm.status is SwarmStatus.COMPLETED and len(swarm.tasks) == len(plan.tasks)


# -- timing ------------------------------------------------------------------------------------


async def _timed(
    store: str,
    side: str,
    team: Team,
    plan: Plan,
    assignee: dict[str, str],
    max_parallel: int,
    warm: tuple[Plan, dict[str, str]],
    tag: str,
) -> tuple[float, float, bool]:
    """Wall and CPU seconds of one run of ``side`` (``swarm`` or ``baseline``) in a fresh engine,
    after a warm-up run of ``warm`` (one layer: every agent's routine loaded) in it; and whether
    every task completed with one model call each."""
    warm_plan, warm_assignee = warm
    async with open_engine(store) as engine:
        if side == "swarm":
            await run_swarm(engine, team, warm_plan, max_parallel, f"warm-{tag}")
        else:
            await run_baseline(engine, team, warm_plan, warm_assignee, max_parallel, f"warm-{tag}")
        gc.collect()
        calls = SwarmModel.calls
        c0, t0 = time.process_time(), time.perf_counter()
        if side == "swarm":
            ok = await run_swarm(engine, team, plan, max_parallel, f"swarm-{tag}")
        else:
            ok = await run_baseline(engine, team, plan, assignee, max_parallel, f"base-{tag}")
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return wall, cpu, ok and SwarmModel.calls - calls == len(plan.tasks)


async def _assign(team: Team, plan: Plan) -> dict[str, str]:
    """The swarm's own assignment (capabilities, then fewest tasks so far, ties by name), so that
    the baseline runs every task as the same agent's routine."""
    return {a.task: a.assignee for a in await assign_tasks(plan, candidates_of(team.agents))}


async def _swarm_case(p: dict[str, Any]) -> dict[str, Any]:
    store = str(p.get("store", "memory"))
    layers, width = int(p.get("layers", 10)), int(p.get("width", 10))
    n_agents, reps = int(p.get("agents", 10)), int(p.get("reps", 3))
    latency, max_parallel = float(p.get("latency_s", 0.05)), int(p.get("max_parallel", 16))
    SwarmModel.latency = latency
    SwarmModel.result_chars = int(p.get("result_chars", 200))
    team, plan, warm = make_team(n_agents), make_plan(layers, width), make_plan(1, width)
    assignee = await _assign(team, plan)
    warmed = (warm, await _assign(team, warm))
    tasks = len(plan.tasks)
    out: dict[str, Any] = {
        "store": store,
        "tasks": tasks,
        "agents": n_agents,
        "layers": layers,
        "width": width,
        "latency_s": latency,
        "max_parallel": max_parallel,
        "result_chars": SwarmModel.result_chars,
        "ideal_critical_path_s": round(layers * latency, 6),
        "target": TARGET,
    }
    # Warm-up of the process (imports, first-call costs): one full round of each side, discarded.
    for side in ("baseline", "swarm"):
        await _timed(store, side, team, plan, assignee, max_parallel, warmed, f"w{side}")
    walls: dict[str, list[float]] = {"baseline": [], "swarm": []}
    cpus: dict[str, list[float]] = {"baseline": [], "swarm": []}
    ok = True
    for rep in range(reps):
        # The sides alternate which goes first, so that a change in the machine's load weighs on both.
        for side in ("baseline", "swarm") if rep % 2 == 0 else ("swarm", "baseline"):
            wall, cpu, done = await _timed(store, side, team, plan, assignee, max_parallel, warmed, f"{side}{rep}")
            walls[side].append(wall)
            cpus[side].append(cpu)
            ok = ok and done
    swarm_s, base_s = statistics.median(walls["swarm"]), statistics.median(walls["baseline"])
    overhead = (swarm_s / base_s - 1) * 100
    per_task_ms = (swarm_s - base_s) / tasks * 1e3
    split = await _split(store, team, plan, max_parallel, warm)
    out |= {
        "completed": ok,
        "reps": reps,
        "swarm_s": w.rounded(swarm_s),
        "baseline_s": w.rounded(base_s),
        "swarm_s_all": [w.rounded(x) for x in walls["swarm"]],
        "baseline_s_all": [w.rounded(x) for x in walls["baseline"]],
        "overhead_pct": round(overhead, 1),
        "overhead_s": w.rounded(swarm_s - base_s),
        "overhead_ms_per_task": round(per_task_ms, 3),
        "swarm_cpu_s": w.rounded(statistics.median(cpus["swarm"])),
        "baseline_cpu_s": w.rounded(statistics.median(cpus["baseline"])),
        "baseline_beyond_critical_path_s": w.rounded(base_s - layers * latency),
        "swarm_split": split,
        "met": ok and overhead <= 10.0,
        "headline": f"swarm {swarm_s:.3f} s, baseline {base_s:.3f} s: overhead {overhead:+.1f}% ({per_task_ms:.2f} ms/task)",
    }
    return out


async def _split(store: str, team: Team, plan: Plan, max_parallel: int, warm: Plan) -> dict[str, Any]:
    """One more swarm run with the coordinating loop's storage and bookkeeping timed: what of the
    loop's time is storing the swarm (``_save``: read the stored swarm back, then write the whole
    document; within it the converter's work and the store's ``get_doc`` / ``put_doc``), building
    task contexts and logging swarm events; and how large the swarm's document grew."""
    from vrooli_core.coordination import swarms
    from vrooli_core.coordination.store import CoordinationStore

    timers = w.Timers()
    async with open_engine(store) as engine:
        await run_swarm(engine, team, warm, max_parallel, "warm-split")
        gc.collect()
        with (
            timers.patch(swarms.SwarmRunner, "_save", "save"),
            timers.patch(CoordinationStore, "get_swarm", "get_swarm"),
            timers.patch(CoordinationStore, "put_swarm", "put_swarm"),
            timers.patch(engine.storage, "get_doc", "storage_get_doc", by_first_arg=True),
            timers.patch(engine.storage, "put_doc", "storage_put_doc", by_first_arg=True),
            timers.patch(swarms, "build_context", "build_context"),
            timers.patch(swarms.SwarmRunner, "_log", "log"),
        ):
            t0 = time.perf_counter()
            runner = SwarmRunner(engine, max_parallel=max_parallel)
            swarm = await runner.run(team, OBJECTIVE, plan=plan, limits=SwarmLimits(), swarm_id="swarm-split")
            wall = time.perf_counter() - t0
        doc = runner.store.converter.unstructure(swarm)
    secs = timers.seconds
    return {
        "completed": swarm.status is SwarmStatus.COMPLETED,
        "wall_s": w.rounded(wall),
        "seconds": {k: w.rounded(v) for k, v in sorted(secs.items())},
        "calls": dict(sorted(timers.calls.items())),
        "save_share_of_wall": round(secs["save"] / wall, 3),
        "converter_s": w.rounded(
            secs["get_swarm"] - secs["storage_get_doc:swarms"] + secs["put_swarm"] - secs["storage_put_doc:swarms"]
        ),
        "swarm_events": len(swarm.events),
        "final_document_json_bytes": len(json.dumps(doc, default=str)),
    }


def case_swarm(p: dict[str, Any]) -> dict[str, Any]:
    store = str(p.get("store", "memory"))
    why = missing(store)
    if why is not None:
        return {"available": False, "skipped": why, "reason": why, "store": store}
    return anyio.run(_swarm_case, p)


CASES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {"swarm": case_swarm}


def main(argv: list[str]) -> int:
    return w.case_main(CASES, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
