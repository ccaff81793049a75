"""Time travel: checkpoints, forks from them, and replays against changed routine versions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import pytest
from _util import flow, payloads, types

from vrooli_core import Engine, FakeClock, tool
from vrooli_core.engine.state import replay
from vrooli_core.errors import NotFoundError, RunError
from vrooli_core.model import RoutineSource, RunStatus

pytestmark = pytest.mark.anyio


@tool
def shout(text: str) -> str:
    return text.upper()


@tool
def inc(n: int) -> dict:
    return {"n": n + 1}


TOOLS = [shout, inc]

REVIEW = """
id = "review"
start = "draft"
[steps.draft]
kind = "tool"
tool = "shout"
in = {text = "topic"}
out = {draft = ""}
next = "review"
[steps.review]
kind = "human"
title = "Review the draft"
out = {verdict = "verdict"}
next = "route"
[steps.route]
choose = [{if = "verdict == 'ok'", next = "publish"}, {else = "rework"}]
[steps.publish]
[steps.rework]
"""
# 1 run.created, 2 run.decided, 3 step.started draft, 4 step.completed draft, 5 step.started review,
# 6 step.suspended review, 7 wait.resolved, 8 step.completed publish|rework, 9 run.completed

COUNT = """
id = "count"
start = "one"
[steps.one]
kind = "tool"
tool = "inc"
in = {n = "n"}
out = {n = "n"}
next = "two"
[steps.two]
kind = "tool"
tool = "inc"
in = {n = "n"}
out = {n = "n"}
next = "gate"
[steps.gate]
choose = [{if = "n > 10", next = "big"}, {else = "small"}]
[steps.big]
[steps.small]
"""
# 1 run.created, 2 run.decided, 3 step.started one, 4 step.completed one, 5 step.started two,
# 6 step.completed two, 7 step.completed small|big, 8 run.completed

LATER = """
id = "later"
start = "pause"
[steps.pause]
wait = {timer = 60}
next = "done"
[steps.done]
"""


async def test_checkpoints_say_where_the_run_stood_and_what_changed(host, store):
    async with Engine.open(store, host=host, tools=TOOLS) as engine:
        run = await engine.run(flow(REVIEW), {"topic": "ai"})
        [task] = await engine.tasks(run_id=run.id)
        run = await engine.complete_task(task.id, {"verdict": "ok"})
        found = await engine.checkpoints(run.id)
        assert [(c.seq, c.type) for c in found] == [
            (2, "run.decided"),
            (4, "step.completed"),
            (6, "step.suspended"),
            (7, "wait.resolved"),
        ]
        assert [c.description for c in found] == [
            "started",
            "step 'draft' completed",
            "step 'review' waits (human 'Review the draft')",
            "task 'Review the draft' answered",
        ]
        assert [c.locations for c in found] == [("draft",), ("review",), ("review",), ("publish",)]
        assert [dict(c.changed) for c in found] == [{}, {"draft": "AI"}, {}, {"verdict": "ok"}]
        assert found[2].waiting == ("human 'Review the draft'",)
        history = await engine.history(run.id)
        assert [c.at for c in found] == [history[c.seq - 1].at for c in found]

        at6 = await engine.state_at(run.id, 6)
        assert at6["status"] == "waiting"
        assert at6["variables"] == {"topic": "ai", "draft": "AI"}
        assert at6["tokens"] == {"t2": "review"}
        assert [(w["kind"], w["name"]) for w in at6["waits"]] == [("human", "Review the draft")]
        assert (await engine.state_at(run.id, 3))["in_flight"] == ["t1"]
        assert (await engine.state_at(run.id, 9))["status"] == "completed"


async def test_fork_before_a_task_is_answered_has_its_own_task(host, store):
    async with Engine.open(store, host=host, tools=TOOLS) as engine:
        run = await engine.run(flow(REVIEW), {"topic": "ai"})
        before = await engine.history(run.id)
        [task] = await engine.tasks(run_id=run.id)

        fork = await engine.fork(run.id, 6, labels={"team": "qa"})
        assert fork.id != run.id and fork.status is RunStatus.WAITING
        assert dict(fork.labels) == {"team": "qa", "forked_from": run.id, "forked_at": "6"}
        [own] = await engine.tasks(run_id=fork.id)
        assert own.id != task.id and own.spec.name == "Review the draft"
        assert {t.id for t in await engine.tasks()} == {task.id, own.id}

        done = await engine.complete_task(own.id, {"verdict": "redo"})
        assert done.status is RunStatus.COMPLETED
        assert done.outputs == {"topic": "ai", "draft": "AI", "verdict": "redo"}
        assert (await engine.get_run(run.id)).status is RunStatus.WAITING
        assert await engine.tasks(run_id=run.id) == [task]
        assert await engine.history(run.id) == before

        forked = await engine.history(fork.id)
        assert types(forked)[:6] == types(before)
        assert [e.seq for e in forked] == list(range(1, len(forked) + 1))
        assert forked[6].type == "run.variables" and forked[6].payload.reason == f"fork of run {run.id} at event 6"
        assert [p.step for p in payloads(forked, "step.completed")] == ["draft", "rework"]

        # The original is still answerable, and ends on its own path.
        run = await engine.complete_task(task.id, {"verdict": "ok"})
        assert run.outputs["verdict"] == "ok"
        assert [p.step for p in payloads(await engine.history(run.id), "step.completed")] == ["draft", "publish"]


async def test_fork_after_a_step_with_changed_variables(host, store):
    async with Engine.open(store, host=host, tools=TOOLS) as engine:
        run = await engine.run(flow(COUNT), {"n": 0})
        assert run.outputs == {"n": 2}
        before = await engine.history(run.id)
        assert [c.seq for c in await engine.checkpoints(run.id)] == [2, 4, 6]

        fork = await engine.fork(run.id, 4, variables={"n": 20})
        assert fork.status is RunStatus.COMPLETED and fork.outputs == {"n": 21}
        assert [p.step for p in payloads(await engine.history(fork.id), "step.completed")] == ["one", "two", "big"]
        # Forking at the start decision runs every step again.
        again = await engine.fork(run.id, 2, variables={"n": 9})
        assert again.outputs == {"n": 11}
        assert [p.step for p in payloads(await engine.history(again.id), "step.completed")] == ["one", "two", "big"]

        assert await engine.history(run.id) == before
        assert (await engine.get_run(run.id)).outputs == {"n": 2}


async def test_a_step_in_flight_at_the_checkpoint_runs_again_in_the_fork(host, store):
    calls: list[int] = []
    entered, release = anyio.Event(), anyio.Event()

    @tool
    async def slow(n: int) -> dict:
        calls.append(n)
        if len(calls) == 1:
            entered.set()
            await release.wait()
        return {"n": n + 100}

    text = 'id = "slow"\nstart = "work"\n[steps.work]\nkind = "tool"\ntool = "slow"\nin = {n = "n"}\nout = {n = "n"}\n'
    async with Engine.open(store, host=host, tools=[slow]) as engine:
        run = await engine.start(flow(text), {"n": 1})
        await entered.wait()
        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.set_variables, run.id, {"note": "set while the step ran"})
            while "run.variables" not in types(await engine.history(run.id)):
                await anyio.sleep(0)
            release.set()
        await engine.wait(run.id, finished=True)
        [*_, middle] = await engine.checkpoints(run.id)
        assert middle.type == "run.variables" and middle.locations == ("work",)
        assert (await engine.state_at(run.id, middle.seq))["in_flight"] == ["t1"]

        fork = await engine.fork(run.id, middle.seq)
        assert calls == [1, 1]
        assert fork.outputs == {"n": 101, "note": "set while the step ran"}
        assert types(await engine.history(fork.id))[-3:] == ["run.variables", "step.completed", "run.completed"]


async def test_fork_survives_a_restart(host, store):
    async with Engine.open(store, host=host, tools=TOOLS) as engine:
        run = await engine.run(flow(REVIEW), {"topic": "ai"})
        fork = await engine.fork(run.id, 6, variables={"topic": "ml"})
    async with Engine.open(store, host=host, tools=TOOLS) as engine:
        [task] = await engine.tasks(run_id=fork.id)
        done = await engine.complete_task(task.id, {"verdict": "ok"})
        assert done.status is RunStatus.COMPLETED
        assert done.outputs == {"topic": "ml", "draft": "AI", "verdict": "ok"}
        assert (await engine.get_run(run.id)).status is RunStatus.WAITING
        history = await engine.history(fork.id)
        rebuilt = replay(fork.id, history)
        assert rebuilt.status is RunStatus.COMPLETED and rebuilt.outputs == done.outputs
        assert (await engine.replay(fork.id)).matched


async def test_open_timers_keep_their_due_time_in_the_fork(host, store):
    clock = FakeClock()
    async with Engine.open(store, host=host, clock=clock) as engine:
        run = await engine.run(flow(LATER))
        await engine.advance_clock(20)
        fork = await engine.fork(run.id, 2)
        original, copied = [await engine.state_at(r, 2) for r in (run.id, fork.id)]
        assert [w["due"] for w in original["waits"]] == [w["due"] for w in copied["waits"]] == [clock.now() + 40]
        assert fork.status is RunStatus.WAITING
        await engine.advance_clock(40)
        assert (await engine.get_run(run.id)).status is RunStatus.COMPLETED
        assert (await engine.get_run(fork.id)).status is RunStatus.COMPLETED


async def test_a_fork_of_a_paused_position_moves_on(host, store):
    async with Engine.open(store, host=host, tools=TOOLS) as engine:
        run = await engine.run(flow(REVIEW), {"topic": "ai"})
        await engine.pause(run.id)
        run = await engine.set_variables(run.id, {"urgent": True})
        assert run.status is RunStatus.PAUSED
        fork = await engine.fork(run.id, run.last_seq)
        assert fork.status is RunStatus.WAITING
        [task] = await engine.tasks(run_id=fork.id)
        assert (await engine.complete_task(task.id, {"verdict": "ok"})).outputs["urgent"] is True


async def test_bad_forks_are_refused_naming_the_run_and_the_event(host, store):
    async with Engine.open(store, host=host, tools=TOOLS) as engine:
        run = await engine.run(flow(REVIEW), {"topic": "ai"})
        for call in (
            engine.checkpoints("nope"),
            engine.fork("nope", 2),
            engine.replay("nope"),
            engine.state_at("nope", 1),
        ):
            with pytest.raises(NotFoundError):
                await call
        for seq in (0, 7, -1):
            with pytest.raises(RunError, match=f"run {run.id}: event {seq} is out of range") as err:
                await engine.fork(run.id, seq)
            assert err.value.code == "seq_out_of_range" and err.value.run_id == run.id
        with pytest.raises(RunError, match="event 99 is out of range") as err:
            await engine.state_at(run.id, 99)
        for seq in (1, 3, 5):
            with pytest.raises(RunError, match=f"run {run.id}: event {seq} is not a checkpoint") as err:
                await engine.fork(run.id, seq)
            assert err.value.code == "not_a_checkpoint"
        with pytest.raises(RunError, match="cannot be stored") as err:
            await engine.fork(run.id, 6, variables={"x": object()})
        assert err.value.code == "unstorable_value"
        with pytest.raises(RunError) as err:
            await engine.fork(run.id, 6, fork_id=run.id)
        assert err.value.code == "run_exists"

        engine.storage._d.routines.pop(("review", "1"))  # type: ignore[attr-defined]
        for call in (engine.fork(run.id, 6), engine.replay(run.id)):
            with pytest.raises(RunError, match="routine 'review' version '1' is no longer stored") as err:
                await call
            assert err.value.code == "routine_not_stored"
        assert len(await engine.list_runs()) == 1


CHILD = 'id = "child"\nstart = "ask"\n[steps.ask]\nkind = "human"\n'
PARENT = 'id = "parent"\nstart = "call"\n[steps.call]\nkind = "subroutine"\nroutine = "child"\nnext = "after"\n[steps.after]\n'


async def test_a_position_with_an_open_child_run_is_no_checkpoint(host, store):
    async with Engine.open(store, host=host) as engine:
        await engine.load(flow(CHILD, "child"))
        run = await engine.run(flow(PARENT, "parent"))
        assert run.status is RunStatus.WAITING
        assert [c.seq for c in await engine.checkpoints(run.id)] == [2]
        with pytest.raises(RunError, match="a child run is open there") as err:
            await engine.fork(run.id, run.last_seq)
        assert err.value.code == "child_run_open"
        fork = await engine.fork(run.id, 2)  # before the step: the fork starts a child of its own
        [child] = await engine.list_runs(parent_run_id=fork.id)
        [task] = await engine.tasks(run_id=child.id)
        assert (await engine.complete_task(task.id, {})).status is RunStatus.COMPLETED
        assert (await engine.get_run(fork.id)).status is RunStatus.COMPLETED
        assert (await engine.get_run(run.id)).status is RunStatus.WAITING


# -- replay ---------------------------------------------------------------------------------------


async def _review(engine: Engine) -> str:
    run = await engine.run(flow(REVIEW), {"topic": "ai"})
    [task] = await engine.tasks(run_id=run.id)
    return (await engine.complete_task(task.id, {"verdict": "no"})).id


async def _count(engine: Engine) -> str:
    return (await engine.run(flow(COUNT), {"n": 5})).id


async def _parallel(engine: Engine) -> str:
    text = """
    start = "split"
    [steps.split]
    next = ["left", "right"]
    [steps.left]
    kind = "tool"
    tool = "inc"
    in = {n = "n"}
    out = {left = "n"}
    next = "join"
    [steps.right]
    kind = "human"
    next = "join"
    [steps.join]
    join = 2
    """
    run = await engine.run(flow(text.replace("\n    ", "\n")), {"n": 1})
    [task] = await engine.tasks(run_id=run.id)
    return (await engine.complete_task(task.id, {"right": 2})).id


async def _boundary_and_message(engine: Engine) -> str:
    text = """
    start = "review"
    [steps.review]
    kind = "human"
    boundary = {timer = 30, next = "remind", interrupting = false}
    next = "paid"
    [steps.remind]
    [steps.paid]
    wait = {message = "paid", correlation = "order"}
    next = "done"
    [steps.done]
    """
    run = await engine.run(flow(text.replace("\n    ", "\n")), {"order": "A-1"})
    await engine.advance_clock(30)
    [task] = await engine.tasks(run_id=run.id)
    await engine.complete_task(task.id, {})
    [done] = await engine.send_message("paid", {"amount": 3}, correlation="A-1")
    return done.id


async def _navigator_failed(engine: Engine) -> str:
    run = await engine.run(flow('[steps.a]\nnext = "b"\n[steps.b]\nchoose = [{if = "missing > 1", next = "a"}]\n'))
    assert run.status is RunStatus.FAILED and run.error.code == "navigator_error"
    return run.id


async def _timer(engine: Engine) -> str:
    run = await engine.run(flow(LATER))
    await engine.advance_clock(60)
    return run.id


@pytest.mark.parametrize("scenario", [_review, _count, _parallel, _boundary_and_message, _navigator_failed, _timer])
async def test_replaying_an_unchanged_routine_matches(host, store, scenario: Callable[[Engine], Awaitable[str]]):
    async with Engine.open(store, host=host, tools=TOOLS, clock=FakeClock()) as engine:
        run_id = await scenario(engine)
        history = await engine.history(run_id)
        report = await engine.replay(run_id)
        assert report.matched, report.divergence
        assert report.events == len(history)
        asked = [e for e in history if e.type in ("run.decided", "step.completed", "wait.resolved")]
        assert report.decisions == len(asked)
        assert await engine.history(run_id) == history


def _changed(old: str, new: str, text: str = COUNT) -> RoutineSource:
    assert old in text
    return flow(text.replace(old, new), "count")


@pytest.mark.parametrize(
    ("routine", "seq", "element", "reason"),
    [
        (_changed('next = "two"', 'next = "gate"'), 4, "one", 'create[0]: "two" was recorded, now "small"'),
        (_changed("n > 10", "n > 6"), 6, "two", 'create[0]: "small" was recorded, now "big"'),
        (_changed('out = {n = "n"}\nnext = "two"', 'out = {m = "n"}\nnext = "two"'), 4, "one", "other variables"),
        (_changed('[steps.two]\nkind = "tool"', '[steps.two]\nkind = "human"'), 5, "two", "is a human step now"),
        (_changed("n > 10", "missing > 10"), 6, "two", "the navigator raises now: ExpressionError"),
    ],
    ids=["step-removed", "condition-changed", "output-mapping-changed", "step-kind-changed", "navigator-raises"],
)
async def test_replay_against_a_changed_routine_finds_the_first_divergence(host, store, routine, seq, element, reason):
    async with Engine.open(store, host=host, tools=TOOLS) as engine:
        run = await engine.run(flow(COUNT, "count"), {"n": 5})
        history = await engine.history(run.id)
        report = await engine.replay(run.id, routine)
        assert not report.matched
        d = report.divergence
        assert (d.seq, d.type, d.element) == (seq, history[seq - 1].type, element)
        assert reason in d.reason
        assert report.routine.id == "count" and report.routine.version == ""  # parsed, not stored
        assert [r.version for r in await engine.storage.list_routines("count")] == ["1"]
        assert await engine.history(run.id) == history


async def test_replay_against_a_stored_version_names_it(host, store):
    async with Engine.open(store, host=host, tools=TOOLS) as engine:
        run = await engine.run(flow(COUNT, "count"), {"n": 5})
        v2 = await engine.load(_changed("n > 10", "n > 6"))
        report = await engine.replay(run.id, v2)
        assert (report.routine.version, report.divergence.seq) == ("2", 6)
        assert report.divergence.recorded == {"create": ["small"]}
        assert report.divergence.fresh == {"create": ["big"]}
        same = await engine.replay(run.id, flow(COUNT, "count"))
        assert same.matched and same.routine.version == "1"
