"""Time travel over BPMN runs: replay and fork with parallel branches, a user task and a timer
(the kernel's time travel, ``vrooli_core/engine/timetravel.py``, on this navigator's decisions)."""

from __future__ import annotations

import pytest

from vrooli_core import Engine, FakeClock
from vrooli_core.model import RoutineSource, RunStatus

pytestmark = pytest.mark.anyio


def payloads(events, type_):
    return [e.payload for e in events if e.type == type_]


# -- BPMN: parallel branches, a user task and a timer ---------------------------------------------------

_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs"><process id="order" isExecutable="true">'
)
_FLOWS = "s>split split>approve split>pause pause>tick approve>join tick>join join>route big>e1 small>e2"


def _bpmn(condition: str = "x &gt; 3", duration: str = "PT1M") -> RoutineSource:
    flows = "".join(
        f'<sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
        for i, (a, b) in enumerate(f.split(">") for f in _FLOWS.split())
    )
    body = (
        '<startEvent id="s"/><parallelGateway id="split"/><userTask id="approve" name="Approve"/>'
        f'<intermediateCatchEvent id="pause"><timerEventDefinition><timeDuration>{duration}</timeDuration>'
        '</timerEventDefinition></intermediateCatchEvent><task id="tick"/><parallelGateway id="join"/>'
        '<exclusiveGateway id="route" default="f_small"/><task id="big"/><task id="small"/><endEvent id="e1"/><endEvent id="e2"/>'
        f'<sequenceFlow id="f_big" sourceRef="route" targetRef="big"><conditionExpression xsi:type="tFormalExpression">{condition}'
        '</conditionExpression></sequenceFlow><sequenceFlow id="f_small" sourceRef="route" targetRef="small"/>'
    )
    return RoutineSource(f"{_HEAD}{body}{flows}</process></definitions>", "order.bpmn")


async def test_bpmn_replay_and_fork(host, store):
    async with Engine.open(store, host=host, clock=FakeClock()) as engine:
        run = await engine.run(_bpmn(), {"x": 5})
        await engine.advance_clock(60)
        [task] = await engine.tasks(run_id=run.id)
        run = await engine.complete_task(task.id, {"approved": True})
        assert run.status is RunStatus.COMPLETED
        history = await engine.history(run.id)
        assert [p.step for p in payloads(history, "step.completed")][-1] == "big"
        assert (await engine.replay(run.id)).matched

        report = await engine.replay(run.id, _bpmn("x &gt; 100"))
        [answered] = [e for e in history if e.type == "wait.resolved" and e.payload.wait_id == task.id]
        d = report.divergence
        assert (d.seq, d.type, d.element) == (answered.seq, "wait.resolved", "approve")

        # Fork before the person answered, with another x: its own task, the other path.
        waiting = [c for c in await engine.checkpoints(run.id) if c.seq < answered.seq][-1]
        assert "approve" in waiting.locations
        fork = await engine.fork(run.id, waiting.seq, variables={"x": 1})
        [own] = await engine.tasks(run_id=fork.id)
        fork = await engine.complete_task(own.id, {"approved": False})
        assert fork.status is RunStatus.COMPLETED
        assert [p.step for p in payloads(await engine.history(fork.id), "step.completed")][-1] == "small"
        assert (await engine.replay(fork.id)).matched
        assert await engine.history(run.id) == history


async def test_bpmn_fork_with_the_timer_still_open(host, store):
    async with Engine.open(store, host=host, clock=FakeClock()) as engine:
        run = await engine.run(_bpmn(), {"x": 5})
        first = (await engine.checkpoints(run.id))[-1]
        fork = await engine.fork(run.id, first.seq)
        timers = lambda s: [w for w in s["waits"] if w["kind"] == "timer"]  # noqa: E731
        assert len(timers(await engine.state_at(fork.id, fork.last_seq))) == 1
        await engine.advance_clock(60)
        for r in (run, fork):
            [task] = await engine.tasks(run_id=r.id)
            assert (await engine.complete_task(task.id, {})).status is RunStatus.COMPLETED
        assert (await engine.replay(fork.id)).matched


async def test_bpmn_timers_on_the_real_clock_replay_in_runs_and_forks(host, store):
    """Due times computed from the clock when a decision is asked match within the moment before
    it was recorded, also for a fork, whose copied events come after its own run.created."""
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(_bpmn(), {"x": 5})
        fork = await engine.fork(run.id, (await engine.checkpoints(run.id))[-1].seq)
        assert (await engine.replay(run.id)).matched
        assert (await engine.replay(fork.id)).matched
        report = await engine.replay(run.id, _bpmn(duration="PT2M"))
        assert report.divergence.seq == 2 and ".due" in report.divergence.reason
