"""Timer start triggers (``Navigator.starts`` TIMER specs): the engine schedules them on its clock when
a routine version is loaded, and every firing starts one run at that start."""

from __future__ import annotations

import json

import anyio
import pytest

from vrooli_core.clock import FakeClock
from vrooli_core.engine import Engine, Navigator
from vrooli_core.engine.starts import STARTS, timer_run_id
from vrooli_core.errors import ExpressionError, RoutineError, RunError
from vrooli_core.model import (
    Decision,
    Graph,
    RoutineDef,
    RoutineSource,
    RunStatus,
    StepDef,
    StepKind,
    WaitKind,
    WaitSpec,
    goto,
)
from vrooli_core.plugins import hookimpl

pytestmark = pytest.mark.anyio


class Ticker(Navigator):
    """A routine whose source is JSON: ``{"id", "starts": [{"key", "every", "times"} or {"key", "at"}
    or {"key", "when"}], "inputs"?}``. ``every``: a cycle (``times`` firings, ``None``: forever) from the
    time it is armed; ``at``: once, at that epoch (the kernel's default ``start_due``); ``when``: a
    conditional start (the kernel's default ``start_condition_met``). Each run parks on a person's task,
    so runs stay countable, and records the start that created it."""

    name = "ticker"
    suffixes = (".tick",)

    def load(self, source: RoutineSource) -> Graph:
        data = json.loads(source.text)
        routine = RoutineDef(data["id"], self.name, source.content_hash, inputs=data.get("inputs", {}))
        return Graph(routine, {"hold": StepDef("hold", StepKind.HUMAN)}, data=data)

    def starts(self, graph: Graph) -> tuple[WaitSpec, ...]:
        found = []
        for s in graph.data["starts"]:
            if "when" in s:
                found.append(WaitSpec(WaitKind.CONDITION, key=s["key"], condition=s["when"]))
                continue
            form = {"every": s["every"], "times": s.get("times"), "stuck": s.get("stuck")} if "every" in s else {}
            found.append(WaitSpec(WaitKind.TIMER, key=s["key"], due=s.get("at"), form=form))
        return tuple(found)

    def start_due(self, graph, start, now, *, previous=None, fired=0):
        every = start.form.get("every")
        if every is None:
            return super().start_due(graph, start, now, previous=previous, fired=fired)
        if every <= 0:
            raise RoutineError(f"cycle of {every} seconds", element=start.key)
        times = start.form.get("times")
        if previous is None:
            return now + every
        if start.form.get("stuck"):
            return previous  # a navigator bug: the engine must not fire this again and again
        return None if times is not None and fired >= times else previous + every

    def start(self, graph: Graph, view) -> Decision:
        return goto("hold", started_by=view.start)

    def next(self, graph, view, token, outcome) -> Decision:
        return Decision()


class TickerPlugin:
    @hookimpl
    def vrooli_register_navigators(self) -> list[type]:
        return [Ticker]


@pytest.fixture
def ticker_host(host):
    host.register(TickerPlugin(), "ticker")
    return host


def tick(rid: str = "tick", *, inputs: dict | None = None, **start) -> RoutineSource:
    data = {"id": rid, "starts": [{"key": "clock", **start}], **({"inputs": inputs} if inputs else {})}
    return RoutineSource(json.dumps(data), f"{rid}.tick")


async def runs_of(engine: Engine, routine_id: str = "tick") -> list:
    runs = [r for r in await engine.list_runs(limit=1000) if r.routine.id == routine_id]
    return sorted(runs, key=lambda r: r.created_at)


async def start_of(engine: Engine, run_id: str) -> str | None:
    [created] = [e for e in await engine.history(run_id) if e.type == "run.created"]
    return created.payload.start


async def test_a_timer_start_fires_on_the_engine_clock(ticker_host, store):
    async with Engine.open(store, host=ticker_host, clock=FakeClock()) as engine:
        await engine.load(tick(every=3600, times=1))
        await engine.advance_clock(3599)
        assert await runs_of(engine) == []
        await engine.advance_clock(1)
        [run] = await runs_of(engine)
        assert run.status is RunStatus.WAITING
        assert await start_of(engine, run.id) == "clock"
        assert (await engine.variables(run.id))["started_by"] == "clock"


async def test_a_cycle_fires_as_often_as_it_says_then_stops(ticker_host, store):
    async with Engine.open(store, host=ticker_host, clock=FakeClock()) as engine:
        await engine.load(tick(every=100, times=3))
        counts = []
        for _ in range(5):
            await engine.advance_clock(100)
            counts.append(len(await runs_of(engine)))
        doc = await engine.storage.get_doc(STARTS, "tick")
    assert counts == [1, 2, 3, 3, 3]
    assert doc["timers"]["clock"] == {"due": None, "fired": 3}


async def test_one_big_step_of_the_clock_fires_every_occurrence_in_order(ticker_host, store):
    async with Engine.open(store, host=ticker_host, clock=FakeClock()) as engine:
        await engine.load(tick(every=100, times=3))
        await engine.advance_clock(10_000)
        runs = await runs_of(engine)
        doc = await engine.storage.get_doc(STARTS, "tick")
    assert {r.id for r in runs} == {timer_run_id(doc["schedule"], "clock", n) for n in (1, 2, 3)}


async def test_an_unbounded_cycle_keeps_firing(ticker_host, store):
    async with Engine.open(store, host=ticker_host, clock=FakeClock()) as engine:
        await engine.load(tick(every=60))
        await engine.advance_clock(60 * 50)
        assert len(await runs_of(engine)) == 50


async def test_a_date_start_fires_once_even_when_it_is_past(ticker_host, store):
    clock = FakeClock()
    async with Engine.open(store, host=ticker_host, clock=clock) as engine:
        await engine.load(tick(at=clock.now() - 5))  # the default start_due: spec.due, once
        await engine.advance_clock(0)
        assert len(await runs_of(engine)) == 1
        await engine.advance_clock(10**6)
        assert len(await runs_of(engine)) == 1


async def test_a_new_version_replaces_the_schedule(ticker_host, store):
    async with Engine.open(store, host=ticker_host, clock=FakeClock()) as engine:
        v1 = await engine.load(tick(every=1000, times=5))
        await engine.advance_clock(1000)
        v2 = await engine.load(tick(every=300, times=2))
        await engine.advance_clock(10_000)
        versions = [r.routine.version for r in await runs_of(engine)]
    assert (v1.version, v2.version) == ("1", "2")
    assert versions == ["1", "2", "2"]  # v1 fired once; its remaining firings went with it


async def test_loading_the_same_version_again_keeps_its_schedule(ticker_host, store):
    async with Engine.open(store, host=ticker_host, clock=FakeClock()) as engine:
        await engine.load(tick(every=1000, times=2))
        await engine.advance_clock(600)
        await engine.run(tick(every=1000, times=2))  # a direct run loads the same content again
        await engine.advance_clock(400)
        started = [r for r in await runs_of(engine) if await start_of(engine, r.id) == "clock"]
    assert len(started) == 1  # due at 1000 as first scheduled, not 1000 after the reload


async def test_a_direct_run_is_not_a_timer_start(ticker_host, store):
    async with Engine.open(store, host=ticker_host, clock=FakeClock()) as engine:
        run = await engine.run(tick(every=1000))
        assert await start_of(engine, run.id) is None
        assert len(await runs_of(engine)) == 1


async def test_the_schedule_survives_a_new_engine_on_the_same_storage(ticker_host, store):
    clock = FakeClock()
    async with Engine.open(store, host=ticker_host, clock=clock) as engine:
        await engine.load(tick(every=100, times=3))
        await engine.advance_clock(100)
    async with Engine.open(store, host=ticker_host, clock=clock) as engine:
        await engine.advance_clock(50)
        assert len(await runs_of(engine)) == 1
        await engine.advance_clock(50)
        assert len(await runs_of(engine)) == 2
    async with Engine.open(store, host=ticker_host, clock=clock) as engine:
        await engine.advance_clock(1000)
        assert len(await runs_of(engine)) == 3


async def test_a_firing_whose_run_exists_already_does_not_start_another(ticker_host, store):
    """A crash after a firing's run was created but before the firing was recorded: the firing
    happens again after the restart, finds its run (the id is derived from the firing) and records
    itself without a second run."""
    async with Engine.open(store, host=ticker_host, clock=FakeClock()) as engine:
        routine = await engine.load(tick(every=100, times=2))
        doc = await engine.storage.get_doc(STARTS, "tick")
        first = timer_run_id(doc["schedule"], "clock", 1)
        await engine.run(routine, run_id=first)  # what the interrupted firing left behind
        await engine.advance_clock(100)
        assert [r.id for r in await runs_of(engine)] == [first]
        assert (await engine.storage.get_doc(STARTS, "tick"))["timers"]["clock"]["fired"] == 1
        await engine.advance_clock(100)
        assert len(await runs_of(engine)) == 2


async def test_a_timer_that_cannot_be_scheduled_is_refused_at_load(ticker_host, store):
    async with Engine.open(store, host=ticker_host, clock=FakeClock()) as engine:
        with pytest.raises(RoutineError) as err:
            await engine.load(tick(every=-1))
        assert err.value.element == "clock"
        with pytest.raises(RoutineError, match="neither due nor delay") as err:
            await engine.load(tick())  # no "at", no "every": the default start_due cannot place it
        assert err.value.element == "clock"
        with pytest.raises(RoutineError, match="without inputs") as err:
            await engine.load(tick(every=10, inputs={"type": "object", "required": ["order"]}))
        assert err.value.element == "clock"
        assert await engine.storage.list_routines("tick") == []
        assert await engine.storage.list_docs(STARTS) == []


async def test_a_timer_start_fires_on_a_real_clock(ticker_host, store):
    async with Engine.open(store, host=ticker_host) as engine:
        await engine.load(tick(every=0.05, times=2))
        with anyio.fail_after(5):
            while len(await runs_of(engine)) < 2:
                await anyio.sleep(0.01)
        await anyio.sleep(0.15)
        assert len(await runs_of(engine)) == 2


async def test_message_and_signal_starts_still_start_runs(host, store):
    """A message start next to a timer start (the triggers share one document per routine)."""

    class Mixed(Ticker):
        name = "mixed"
        suffixes = (".mixed",)

        def starts(self, graph):
            return (*super().starts(graph), WaitSpec(WaitKind.MESSAGE, name="go", key="on-go"))

    class Plugin:
        @hookimpl
        def vrooli_register_navigators(self):
            return [Mixed]

    host.register(Plugin(), "mixed")
    async with Engine.open(store, host=host, clock=FakeClock()) as engine:
        await engine.load(
            RoutineSource(json.dumps({"id": "tick", "starts": [{"key": "clock", "every": 100, "times": 1}]}), "t.mixed")
        )
        [by_message] = await engine.send_message("go", {"x": 1})
        await engine.advance_clock(100)
        starts = sorted([await start_of(engine, r.id) for r in await runs_of(engine)], key=str)
    assert by_message.status is RunStatus.WAITING
    assert starts == ["clock", "on-go"]


async def test_a_next_firing_that_is_not_later_ends_the_schedule_and_says_why(ticker_host, store):
    async with Engine.open(store, host=ticker_host, clock=FakeClock()) as engine:
        await engine.load(tick(every=100, stuck=True))
        await engine.advance_clock(1000)
        timer = (await engine.storage.get_doc(STARTS, "tick"))["timers"]["clock"]
        assert len(await runs_of(engine)) == 1
    assert timer["due"] is None and timer["fired"] == 1
    assert "is not after" in timer["problem"]


async def test_a_malformed_start_trigger_is_refused_at_load(host, store):
    class Odd(Ticker):
        name = "odd"
        suffixes = (".odd",)

        def starts(self, graph):
            return (WaitSpec(WaitKind.HUMAN, key="ask"),)

    class Plugin:
        @hookimpl
        def vrooli_register_navigators(self):
            return [Odd]

    host.register(Plugin(), "odd")
    async with Engine.open(store, host=host, clock=FakeClock()) as engine:
        with pytest.raises(RoutineError, match="message, signal, timer or condition") as err:
            await engine.load(RoutineSource(json.dumps({"id": "odd", "starts": []}), "o.odd"))
    assert err.value.element == "ask"


# -- conditional starts (Navigator.starts CONDITION specs) --------------------------------------


async def test_evaluate_conditions_starts_a_run_where_a_condition_holds(ticker_host, store):
    async with Engine.open(store, host=ticker_host, clock=FakeClock()) as engine:
        await engine.load(tick("hot", when="temperature > 30"))
        await engine.load(tick("cold", when="temperature < 0"))
        await engine.load(tick("timed", every=100))
        assert await engine.evaluate_conditions({"temperature": 20}) == []
        [run] = await engine.evaluate_conditions({"temperature": 35})
        assert run.routine.id == "hot" and run.status is RunStatus.WAITING
        assert run.inputs == {"temperature": 35}
        assert await start_of(engine, run.id) == "clock"
        assert await engine.evaluate_conditions({"temperature": -5}, routine="hot") == []
        [cold] = await engine.evaluate_conditions({"temperature": -5}, routine="cold")
        assert cold.routine.id == "cold"


async def test_a_condition_that_cannot_be_evaluated_starts_nothing_and_names_the_start(ticker_host, store):
    async with Engine.open(store, host=ticker_host, clock=FakeClock()) as engine:
        await engine.load(tick("a", when="True"))
        await engine.load(tick("b", when="level > 3"))
        with pytest.raises(ExpressionError, match="clock"):
            await engine.evaluate_conditions({})
        assert await engine.list_runs() == []


async def test_inputs_a_matching_routine_refuses_start_nothing(ticker_host, store):
    schema = {"type": "object", "required": ["order"]}
    async with Engine.open(store, host=ticker_host, clock=FakeClock()) as engine:
        await engine.load(tick("free", when="True"))
        await engine.load(tick("strict", when="True", inputs=schema))
        with pytest.raises(RunError, match=r"'strict'.*no run was started"):
            await engine.evaluate_conditions({"x": 1})
        assert await engine.list_runs() == []
        assert len(await engine.evaluate_conditions({"order": 7})) == 2
