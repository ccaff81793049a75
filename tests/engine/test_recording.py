"""What the engine records for a step: one event for a step without side effects, step.started first
for the rest; the reducer rebuilds the same run either way, after crashes, retries and snapshots."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import anyio
import pytest
from _util import flow, payloads, types

from vrooli_core import Engine
from vrooli_core.engine.state import replay
from vrooli_core.execution.strategy import StepContext, Strategy
from vrooli_core.model import Limits, RunStatus, StepKind
from vrooli_core.plugins import PluginHost, hookimpl
from vrooli_core.serialization import make_converter
from vrooli_core.storage.memory import MemoryStorage

pytestmark = pytest.mark.anyio


def register(host: PluginHost, name: str, fn: Callable[[StepContext], Any], *, side_effects: bool) -> None:
    """Register a strategy ``name`` for code steps that runs ``fn`` (awaiting it when it is async)."""

    class TestStrategy(Strategy):
        kinds: ClassVar[frozenset[StepKind]] = frozenset({StepKind.CODE})

        async def execute(self, ctx: StepContext) -> Any:
            result = fn(ctx)
            return await result if hasattr(result, "__await__") else result

    TestStrategy.name = name
    TestStrategy.side_effects = side_effects

    class Plugin:
        @hookimpl
        def vrooli_register_strategies(self) -> Iterable[type[Strategy]]:
            return [TestStrategy]

    host.register(Plugin(), name)


def add_one(ctx: StepContext) -> dict[str, int]:
    return {"i": ctx.inputs.get("i", 0) + 1}


CHAIN = """
id = "chain"
start = "a"
[steps.a]
kind = "code"
strategy = "pure"
next = "b"
[steps.b]
kind = "code"
strategy = "pure"
next = "c"
[steps.c]
kind = "code"
strategy = "effects"
"""


async def dies_in_a_step(entered: anyio.Event, store: str, host: PluginHost, text: str, **options: Any) -> None:
    """Run ``text`` in an engine that "dies" (is cancelled) once a step sets ``entered``."""
    async with anyio.create_task_group() as tg:

        async def doomed() -> None:
            async with Engine.open(store, host=host, **options) as engine:
                await engine.run(flow(text))

        tg.start_soon(doomed)
        with anyio.fail_after(5):
            await entered.wait()
        tg.cancel_scope.cancel()


def assert_rebuilt_equals_live(engine: Engine, run_id: str, events: list[Any]) -> None:
    live = engine._runs[run_id].state
    rebuilt = replay(run_id, events)
    for field in ("status", "tokens", "variables", "nav", "waits", "started", "steps", "usage", "outputs", "seq"):
        assert getattr(rebuilt, field) == getattr(live, field), field


async def test_a_step_without_side_effects_is_recorded_once_when_it_completes(host, store):
    register(host, "pure", add_one, side_effects=False)
    register(host, "effects", add_one, side_effects=True)
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(CHAIN))
        events = await engine.history(run.id)
        assert_rebuilt_equals_live(engine, run.id, events)
    assert run.status is RunStatus.COMPLETED and run.outputs == {"i": 3}
    assert types(events) == [
        "run.created",
        "run.decided",
        "step.completed",
        "step.completed",
        "step.started",
        "step.completed",
        "run.completed",
    ]
    assert [p.step for p in payloads(events, "step.started")] == ["c"]
    assert run.steps == 3


async def test_a_crash_mid_step_without_side_effects_runs_it_again_with_the_same_key(host, store):
    keys: list[str] = []
    entered = anyio.Event()

    async def stuck_once(ctx: StepContext) -> dict[str, int]:
        keys.append(ctx.idempotency_key)
        if ctx.step.id == "b" and len(keys) == 2:
            entered.set()
            await anyio.sleep(100)  # the process "dies" here
        return add_one(ctx)

    register(host, "pure", stuck_once, side_effects=False)
    register(host, "effects", add_one, side_effects=True)
    await dies_in_a_step(entered, store, host, CHAIN, batch_events=1)  # a commit per transition

    async with Engine.open(store, host=host) as engine:
        [run] = await engine.list_runs()
        before = await engine.history(run.id)
        assert types(before) == ["run.created", "run.decided", "step.completed"]  # b was in flight, unrecorded
        run = await engine.resume(run.id)
        events = await engine.history(run.id)
        assert_rebuilt_equals_live(engine, run.id, events)
    assert run.status is RunStatus.COMPLETED and run.outputs == {"i": 3}
    assert keys == [f"{run.id}:t1:a:1", f"{run.id}:t2:b:1", f"{run.id}:t2:b:1"]
    assert [p.step for p in payloads(events, "step.completed")] == ["a", "b", "c"]
    assert run.steps == 3


async def test_side_effect_free_completions_are_stored_together_and_redone_after_a_crash(host, store):
    """With batching (the default), completions of side-effect-free steps wait for the run's next
    commit: a crash loses them and they run again with the same keys; a side-effecting step's start
    stores everything before it."""
    keys: list[str] = []
    entered = anyio.Event()

    async def pure(ctx: StepContext) -> dict[str, int]:
        keys.append(ctx.idempotency_key)
        return add_one(ctx)

    async def effect(ctx: StepContext) -> dict[str, int]:
        keys.append(ctx.idempotency_key)
        if len(keys) == 3:
            entered.set()
            await anyio.sleep(100)  # the process "dies" here
        return add_one(ctx)

    register(host, "pure", pure, side_effects=False)
    register(host, "effects", effect, side_effects=True)
    text = (
        CHAIN.replace('strategy = "effects"\n', 'strategy = "effects"\nnext = "d"\n')
        + '[steps.d]\nkind = "code"\nstrategy = "pure"\n'
    )
    await dies_in_a_step(entered, store, host, text)

    async with Engine.open(store, host=host) as engine:
        [run] = await engine.list_runs()
        before = await engine.history(run.id)
        # c's start stored a and b with it; c itself was in flight.
        assert types(before) == ["run.created", "run.decided", "step.completed", "step.completed", "step.started"]
        run = await engine.resume(run.id)
        events = await engine.history(run.id)
        assert_rebuilt_equals_live(engine, run.id, events)
    assert run.status is RunStatus.COMPLETED and run.outputs == {"i": 4}
    assert [p.step for p in payloads(events, "step.completed")] == ["a", "b", "c", "d"]
    assert keys[3] == keys[2] == f"{run.id}:t3:c:1"  # the step in flight runs again with its key


RETRYING = """
id = "retry"
start = "work"
[steps.work]
kind = "code"
strategy = "pure"
retry = {max_attempts = 3}
next = "done"
[steps.done]
"""


@pytest.mark.parametrize("side_effects", [False, True])
async def test_retries_count_every_attempt_and_record_the_attempt_started(host, store, side_effects):
    keys: list[str] = []

    def flaky(ctx: StepContext) -> dict[str, bool]:
        keys.append(ctx.idempotency_key)
        if len(keys) < 3:
            raise ConnectionError("try again")
        return {"ok": True}

    register(host, "pure", flaky, side_effects=side_effects)
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(RETRYING))
        events = await engine.history(run.id)
        assert_rebuilt_equals_live(engine, run.id, events)
    assert run.status is RunStatus.COMPLETED
    assert keys == [f"{run.id}:t1:work:{n}" for n in (1, 2, 3)]
    assert [p.attempt for p in payloads(events, "step.retrying")] == [1, 2]
    # The first attempt of a step without side effects has no step.started; a retry always has one.
    assert [p.attempt for p in payloads(events, "step.started")] == ([1, 2, 3] if side_effects else [2, 3])
    assert run.steps == 4  # three attempts of work, and done


PARALLEL = """
id = "par"
start = "split"
[steps.split]
next = ["a", "b", "c", "d"]
[steps.a]
kind = "code"
strategy = "pure"
[steps.b]
kind = "code"
strategy = "pure"
[steps.c]
kind = "code"
strategy = "pure"
[steps.d]
kind = "code"
strategy = "pure"
"""


async def test_steps_in_flight_without_a_start_event_count_towards_max_steps(host, store):
    ran: list[str] = []

    async def slow(ctx: StepContext) -> dict[str, int]:
        ran.append(ctx.step.id)
        for _ in range(3):
            await anyio.lowlevel.checkpoint()  # let the other branches start meanwhile
        return {}

    register(host, "pure", slow, side_effects=False)
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(PARALLEL), limits=Limits(max_steps=3))
    assert run.status is RunStatus.FAILED and run.error.code == "limit_exceeded"
    assert len(ran) == 2  # split, then two branches: the third would have been the fourth step
    assert run.steps == 3


HUMAN_BETWEEN = """
id = "hb"
start = "a"
[steps.a]
kind = "code"
strategy = "pure"
next = "b"
[steps.b]
kind = "code"
strategy = "pure"
next = "ask"
[steps.ask]
kind = "human"
next = "c"
[steps.c]
kind = "code"
strategy = "pure"
"""


class SnapshotEveryTwo(MemoryStorage):
    name: ClassVar[str] = "snapshot-every-two"
    snapshot_every: ClassVar[int | None] = 2


async def test_a_run_of_steps_without_side_effects_resumes_from_a_snapshot(host):
    register(host, "pure", add_one, side_effects=False)
    storage = SnapshotEveryTwo(converter=make_converter(), verify=True)
    async with Engine.open(storage, host=host) as engine:
        run = await engine.run(flow(HUMAN_BETWEEN))
        [task] = await engine.tasks()
    snap = await storage.load_snapshot(run.id)
    assert snap is not None and snap[1]["steps"] == 3 and snap[1]["variables"] == {"i": 2}
    async with Engine.open(storage, host=host) as engine:
        run = await engine.complete_task(task.id, {"answer": "yes"})
        events = await engine.history(run.id)
        assert_rebuilt_equals_live(engine, run.id, events)
    assert run.status is RunStatus.COMPLETED and run.outputs == {"i": 3, "answer": "yes"}
    assert [p.step for p in payloads(events, "step.started")] == ["ask"]
    assert run.steps == 4


async def test_history_and_subscribers_see_the_output_a_step_wrote_once(host, store):
    register(host, "pure", add_one, side_effects=False)
    register(host, "effects", add_one, side_effects=True)
    seen: list[Any] = []
    async with Engine.open(store, host=host) as engine:
        engine.subscribe(seen.append)
        run = await engine.run(flow(CHAIN))
        events = await engine.history(run.id)
        stored = await engine.storage.read_events(run.id)
    assert events == seen == stored
    completed = payloads(events, "step.completed")
    assert [(p.outcome.output, p.writes) for p in completed] == [({"i": n}, {"i": n}) for n in (1, 2, 3)]


async def test_wall_time_is_recorded_from_a_millisecond(host, store):
    async def slow(ctx: StepContext) -> dict[str, int]:
        await anyio.sleep(0.003)
        return {}

    register(host, "pure", add_one, side_effects=False)
    register(host, "effects", slow, side_effects=True)
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(flow(CHAIN))
        events = await engine.history(run.id)
    fast_a, fast_b, slow_c = (p.outcome.usage for p in payloads(events, "step.completed"))
    assert all(u.wall_time == 0.0 or u.wall_time >= 0.001 for u in (fast_a, fast_b))  # never a sub-ms number
    assert slow_c.wall_time >= 0.003 and slow_c.wall_time == round(slow_c.wall_time, 6)
    assert run.usage.wall_time == slow_c.wall_time
