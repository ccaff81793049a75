"""Timer start events create runs on a schedule on the engine's clock, as deployed processes do in
Camunda: scheduled when the routine version is loaded, one run per firing (started at that start event
only), cycles until they are used up, and a newer version replaces the schedule."""

from __future__ import annotations

import datetime as dt

import attrs
import pytest
from bpmn_builder import chain, model, source

# The bpmn-elements adapter and the fixtures' location, shared with the other conformance-model tests.
from test_conformance_models import ELEMENTS, ElementsNavigator, _source
from vrooli_bpmn.model import Kind

from vrooli_core import Engine
from vrooli_core.clock import FakeClock
from vrooli_core.engine import RunView
from vrooli_core.errors import ExpressionError
from vrooli_core.model import RoutineSource, RunStatus, StepKind, WaitKind
from vrooli_core.plugins import hookimpl

pytestmark = pytest.mark.anyio
HOUR = 3600.0


def at(*parts: int) -> float:
    return dt.datetime(*parts, tzinfo=dt.UTC).timestamp()


def timer_start(definition: str, *, extra: str = "", process: str = "p") -> RoutineSource:
    """A process whose timer start event ``tick`` leads to the user task ``work``."""
    body = (
        f'<startEvent id="tick"><timerEventDefinition>{definition}</timerEventDefinition></startEvent>'
        f'<userTask id="work"/><endEvent id="done"/>{chain("tick", "work", "done")}{extra}'
    )
    return source(model(body, process=process), process)


async def runs_of(engine: Engine, routine_id: str = "p") -> list:
    runs = [r for r in await engine.list_runs(limit=1000) if r.routine.id == routine_id]
    return sorted(runs, key=lambda r: r.created_at)


async def started_at(engine: Engine, run_id: str) -> str | None:
    [created] = [e for e in await engine.history(run_id) if e.type == "run.created"]
    return created.payload.start


async def parked(engine: Engine, run_id: str) -> set[str]:
    return {t.location for t in (await engine._runtime(run_id)).state.tokens.values()}


async def test_time_date_start_fires_once_at_its_date(host, store):
    async with Engine.open(store, host=host, clock=FakeClock(at(2029, 12, 31))) as engine:
        await engine.load(timer_start("<timeDate>2030-01-01T00:00:00Z</timeDate>"))
        await engine.advance_clock(24 * HOUR - 1)
        assert await runs_of(engine) == []
        await engine.advance_clock(1)
        [run] = await runs_of(engine)
        assert run.status is RunStatus.WAITING
        assert await started_at(engine, run.id) == "tick"
        assert await parked(engine, run.id) == {"work"}
        await engine.advance_clock(1000 * 24 * HOUR)
        assert len(await runs_of(engine)) == 1


async def test_time_date_in_the_past_fires_at_once(host, store):
    async with Engine.open(store, host=host, clock=FakeClock(at(2030, 6, 1))) as engine:
        await engine.load(timer_start("<timeDate>2030-01-01</timeDate>"))
        await engine.advance_clock(0)
        assert len(await runs_of(engine)) == 1


async def test_r3_cycle_starts_exactly_three_runs_ten_hours_apart(host, store):
    clock = FakeClock(at(2030, 1, 1))
    async with Engine.open(store, host=host, clock=clock) as engine:
        await engine.load(timer_start("<timeCycle>R3/PT10H</timeCycle>"))
        counts = []
        for _ in range(5):
            await engine.advance_clock(10 * HOUR)
            counts.append(len(await runs_of(engine)))
        runs = await runs_of(engine)
    assert counts == [1, 2, 3, 3, 3]
    assert [r.created_at - at(2030, 1, 1) for r in runs] == [10 * HOUR, 20 * HOUR, 30 * HOUR]


async def test_cycle_with_a_start_date(host, store):
    async with Engine.open(store, host=host, clock=FakeClock(at(2030, 1, 1))) as engine:
        await engine.load(timer_start("<timeCycle>R2/2030-01-03T00:00:00Z/P1D</timeCycle>"))
        await engine.advance_clock(48 * HOUR - 1)
        assert await runs_of(engine) == []
        await engine.advance_clock(1)
        assert len(await runs_of(engine)) == 1
        await engine.advance_clock(10 * 24 * HOUR)
        assert len(await runs_of(engine)) == 2


async def test_cron_cycle_fires_on_its_schedule_and_never_runs_out(host, store):
    # Daily at 09:00 UTC (Zeebe's six fields, seconds first); the clock starts at 08:00.
    async with Engine.open(store, host=host, clock=FakeClock(at(2030, 1, 1, 8))) as engine:
        await engine.load(timer_start("<timeCycle>0 0 9 * * *</timeCycle>"))
        await engine.advance_clock(HOUR - 1)
        assert await runs_of(engine) == []
        await engine.advance_clock(1)
        assert len(await runs_of(engine)) == 1
        await engine.advance_clock(30 * 24 * HOUR)
        runs = await runs_of(engine)
    assert len(runs) == 31


async def test_a_none_start_and_a_timer_start(host, store):
    both = source(
        model(
            '<startEvent id="plain"/><startEvent id="tick"><timerEventDefinition><timeCycle>R1/PT1H</timeCycle>'
            '</timerEventDefinition></startEvent><userTask id="by_hand"/><userTask id="by_timer"/><endEvent id="e1"/>'
            '<endEvent id="e2"/>' + chain("plain", "by_hand", "e1") + chain("tick", "by_timer", "e2")
        )
    )
    async with Engine.open(store, host=host, clock=FakeClock(at(2030, 1, 1))) as engine:
        routine = await engine.load(both)
        direct = await engine.run(routine)
        await engine.advance_clock(HOUR)
        [timed] = [r for r in await runs_of(engine) if r.id != direct.id]
        assert await started_at(engine, timed.id) == "tick"
        assert await parked(engine, timed.id) == {"by_timer"}  # the none start did not fire
        # A direct run starts at the none start, and (as before) also waits at the timer start event.
        assert await started_at(engine, direct.id) is None
        assert "by_hand" in await parked(engine, direct.id)
        [task] = await engine.tasks(timed.id)
        assert (await engine.complete_task(task.id, {})).status is RunStatus.COMPLETED
        await engine.advance_clock(100 * HOUR)
        assert len(await runs_of(engine)) == 2  # R1: one firing


async def test_deploying_a_new_version_replaces_the_schedule(host, store):
    async with Engine.open(store, host=host, clock=FakeClock(at(2030, 1, 1))) as engine:
        await engine.load(timer_start("<timeCycle>R/PT1H</timeCycle>"))
        await engine.advance_clock(2 * HOUR)
        await engine.load(timer_start("<timeCycle>R2/PT5H</timeCycle>"))
        await engine.advance_clock(100 * HOUR)
        versions = [r.routine.version for r in await runs_of(engine)]
    assert versions == ["1", "1", "2", "2"]


async def test_the_schedule_survives_a_restart(host, store):
    clock = FakeClock(at(2030, 1, 1))
    async with Engine.open(store, host=host, clock=clock) as engine:
        await engine.load(timer_start("<timeCycle>R3/PT10H</timeCycle>"))
        await engine.advance_clock(10 * HOUR)
    async with Engine.open(store, host=host, clock=clock) as engine:
        await engine.advance_clock(100 * HOUR)
        assert len(await runs_of(engine)) == 3


@pytest.mark.parametrize(
    "definition",
    ["<timeCycle>${environment.variables.every}</timeCycle>", "<timeDate>=when</timeDate>"],
)
async def test_a_timer_start_that_cannot_be_evaluated_at_load_is_refused(host, store, definition):
    async with Engine.open(store, host=host, clock=FakeClock()) as engine:
        with pytest.raises(ExpressionError) as err:
            await engine.load(timer_start(definition))
        assert err.value.element == "tick"
        assert await engine.storage.list_routines("p") == []


# -- the bpmn-elements timers fixture ------------------------------------------------------------


class ElementsTimersNavigator(ElementsNavigator):
    """The bpmn-elements environment of the upstream timers test: its variables (``catchDate``,
    ``dueDate``) are there from a run's start, and a manual task waits to be signalled (in
    bpmn-elements; Camunda passes through manual tasks, and so does the plain BPMN navigator)."""

    name = "bpmn-elements-timers"
    environment = {"catchDate": "1993-06-26", "dueDate": "1993-06-27"}

    def load(self, source):
        graph = super().load(source)
        manual = {n.id for p in graph.data.defs.processes.values() for n in p.nodes.values() if n.kind is Kind.MANUAL}
        steps = {k: attrs.evolve(s, kind=StepKind.HUMAN) if k in manual else s for k, s in graph.steps.items()}
        return attrs.evolve(graph, steps=steps)

    def start(self, graph, view):
        decision = super().start(graph, view)
        return (
            attrs.evolve(decision, variables={**self.environment, **decision.variables})
            if decision.create
            else decision
        )


@pytest.fixture
def timers_host(host):
    class Adapter:
        @hookimpl
        def vrooli_register_navigators(self):
            return [ElementsTimersNavigator]

    host.register(Adapter(), "bpmn-elements-timers")
    return host


needs_timers_fixture = pytest.mark.skipif(
    not (ELEMENTS / "timers.bpmn").is_file(), reason=f"the bpmn-elements fixtures are not at {ELEMENTS}"
)


async def _restarted(store, host, clock, run_id):
    """A new engine on the same storage: the run's waits (and their due times) as it finds them."""
    async with Engine.open(store, host=host, clock=clock) as engine:
        waits = (await engine._runtime(run_id)).state.waits.values()
        return {(w.spec.kind, w.spec.key, w.spec.due) for w in waits}


@needs_timers_fixture
async def test_elements_timers_fixture(timers_host, store):
    clock = FakeClock(at(1993, 6, 25))
    async with Engine.open(store, host=timers_host, clock=clock) as engine:
        routine = await engine.load(_source(ELEMENTS / "timers.bpmn"), format="bpmn-elements-timers")
        # Nothing runs until the cycle fires on start-cycle (R3/PT10H: at 10:00).
        await engine.advance_clock(10 * HOUR - 1)
        assert await runs_of(engine, routine.id) == []
        await engine.advance_clock(1)
        [run] = await runs_of(engine, routine.id)
        assert await started_at(engine, run.id) == "start-cycle"
        # The manual task waits, with the PT1M non-interrupting boundary armed.
        assert await parked(engine, run.id) == {"task"}
        at_task = await _waits(engine, run.id)
        assert (WaitKind.TIMER, "b:bound-duration", at(1993, 6, 25, 10, 1)) in at_task
        assert [k for k, _, _ in at_task].count(WaitKind.HUMAN) == 1
    assert await _restarted(store, timers_host, clock, run.id) == at_task

    async with Engine.open(store, host=timers_host, clock=clock) as engine:
        [task] = await engine.tasks(run.id)
        await engine.complete_task(task.id, {})
        # catch-date waits for 1993-06-26 (the boundary went with the task).
        assert await parked(engine, run.id) == {"catch-date"}
        at_catch = await _waits(engine, run.id)
        assert at_catch == {(WaitKind.TIMER, "catch-date", at(1993, 6, 26))}
    assert await _restarted(store, timers_host, clock, run.id) == at_catch

    async with Engine.open(store, host=timers_host, clock=clock) as engine:
        # 20:00: the cycle's second firing starts a second run; the first still waits for its date.
        await engine.advance_clock(14 * HOUR - 1)
        assert len(await runs_of(engine, routine.id)) == 2
        assert await parked(engine, run.id) == {"catch-date"}
        await engine.advance_clock(1)
        # Then user-due waits for a person.
        assert await parked(engine, run.id) == {"user-due"}
        at_user = await _waits(engine, run.id)
        assert {k for k, _, _ in at_user} == {WaitKind.HUMAN}
    assert await _restarted(store, timers_host, clock, run.id) == at_user

    async with Engine.open(store, host=timers_host, clock=clock) as engine:
        [task] = await engine.tasks(run.id)
        done = await engine.complete_task(task.id, {})
        assert done.status is RunStatus.COMPLETED
        history = await engine.history(run.id)
        assert [e.payload.step for e in history if e.type == "step.suspended"] == ["task", "user-due"]
        resolved = [e.payload.outcome.output for e in history if e.type == "wait.resolved"]
        assert resolved == [{}, {"due": at(1993, 6, 26)}, {}]  # task, catch-date, user-due
        # The third and last firing (06:00 on the 26th) has happened, and there is no fourth.
        await engine.advance_clock(1000 * HOUR)
        assert len(await runs_of(engine, routine.id)) == 3


async def _waits(engine: Engine, run_id: str) -> set[tuple]:
    return {(w.spec.kind, w.spec.key, w.spec.due) for w in (await engine._runtime(run_id)).state.waits.values()}


def test_the_adapter_only_changes_what_bpmn_elements_does_differently():
    """Manual tasks become wait states, every other step is the plain navigator's, and a start
    decision carries the environment's variables."""
    if not (ELEMENTS / "timers.bpmn").is_file():
        pytest.skip(f"the bpmn-elements fixtures are not at {ELEMENTS}")
    src = _source(ELEMENTS / "timers.bpmn")
    plain, adapted = ElementsNavigator().load(src), ElementsTimersNavigator().load(src)
    assert {k for k in plain.steps if plain.steps[k] != adapted.steps[k]} == {"task"}
    assert adapted.steps["task"].kind is StepKind.HUMAN
    view = RunView("r", "Process_0cn5rdh", {}, {}, {}, {})
    view.start = "start-cycle"
    decision = ElementsTimersNavigator().start(adapted, view)
    assert [t.location for t in decision.create] == ["task"]
    assert decision.variables == {"catchDate": "1993-06-26", "dueDate": "1993-06-27"}
