"""BPMN semantics, one small model per behaviour (strict token semantics)."""

from __future__ import annotations

import pytest
from bpmn_builder import chain, flow, model, source

from vrooli_core import Engine, FakeClock, tool
from vrooli_core.errors import ExpressionError
from vrooli_core.model import RunStatus

pytestmark = pytest.mark.anyio


def completed_steps(events) -> list[str]:
    return [e.payload.step for e in events if e.type == "step.completed"]


@tool
def double(x: int) -> dict:
    return {"x": x * 2}


async def test_sequence_with_a_bound_tool(host, store):
    text = model(
        '<startEvent id="s"/><serviceTask id="t" vrooli:tool="double"/><endEvent id="e"/>' + chain("s", "t", "e")
    )
    async with Engine.open(store, host=host, tools=[double]) as engine:
        run = await engine.run(source(text), {"x": 21})
        events = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED and run.outputs == {"x": 42}
    assert completed_steps(events) == ["t"]


@pytest.mark.parametrize(
    "condition",
    ["x &gt; 3", "= x &gt; 3", "${x &gt; 3}"],
    ids=["sandbox", "feel", "juel"],
)
@pytest.mark.parametrize(("x", "taken"), [(5, "big"), (1, "small")])
async def test_exclusive_gateway_conditions_and_default(host, store, condition, x, taken):
    text = model(
        '<startEvent id="s"/><exclusiveGateway id="g" default="f_small"/><task id="big"/><task id="small"/><endEvent id="e"/>'
        + flow("f_s", "s", "g") + flow("f_big", "g", "big", condition) + flow("f_small", "g", "small")
        + flow("f1", "big", "e") + flow("f2", "small", "e")
    )
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(source(text), {"x": x})
        events = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED
    assert completed_steps(events) == [taken]


async def test_exclusive_gateway_without_a_match_fails_naming_it(host, store):
    text = model(
        '<startEvent id="s"/><exclusiveGateway id="g"/><task id="a"/>'
        + flow("f_s", "s", "g") + flow("f_a", "g", "a", "x &gt; 3")
    )
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(source(text), {"x": 1})
    assert run.status is RunStatus.FAILED
    assert run.error.code == "no_path" and run.error.element == "g"


PARALLEL = model(
    '<startEvent id="s"/><parallelGateway id="fork"/><task id="a"/><task id="b"/><task id="c"/>'
    '<parallelGateway id="join"/><task id="after"/><endEvent id="e"/>'
    + flow("f_s", "s", "fork") + flow("fa", "fork", "a") + flow("fb", "fork", "b") + flow("fc", "fork", "c")
    + flow("ja", "a", "join") + flow("jb", "b", "join") + flow("jc", "c", "join") + chain("join", "after", "e")
)


async def test_parallel_fork_and_join(host, store):
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(source(PARALLEL))
        events = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED
    steps = completed_steps(events)
    assert sorted(steps[:3]) == ["a", "b", "c"] and steps[3:] == ["after"]


@pytest.mark.parametrize(("x", "expected"), [(5, ["a", "b"]), (1, ["b"])])
async def test_inclusive_split_and_or_join_waits_only_for_taken_branches(host, store, x, expected):
    text = model(
        '<startEvent id="s"/><inclusiveGateway id="split"/><task id="a"/><task id="b"/>'
        '<inclusiveGateway id="join"/><task id="after"/><endEvent id="e"/>'
        + flow("f_s", "s", "split") + flow("fa", "split", "a", "x &gt; 3") + flow("fb", "split", "b", "x &gt; 0")
        + flow("ja", "a", "join") + flow("jb", "b", "join") + chain("join", "after", "e")
    )
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(source(text), {"x": x})
        events = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED
    steps = completed_steps(events)
    assert sorted(steps[:-1]) == expected and steps[-1] == "after"


async def test_strict_parallel_join_after_an_exclusive_split_stalls_and_is_linted(host, store):
    text = model(
        '<startEvent id="s"/><exclusiveGateway id="x" default="fb"/><task id="a"/><task id="b"/>'
        '<parallelGateway id="join"/><endEvent id="e"/>'
        + flow("f_s", "s", "x") + flow("fa", "x", "a", "go") + flow("fb", "x", "b")
        + flow("ja", "a", "join") + flow("jb", "b", "join") + chain("join", "e")
    )
    async with Engine.open(store, host=host) as engine:
        _, graph, _ = engine.parse(source(text))
        assert any("parallel join 'join'" in w.message for w in graph.warnings)
        run = await engine.run(source(text), {"go": False})
        assert run.status is RunStatus.WAITING
        [parked] = [t for t in (await engine._runtime(run.id)).state.tokens.values()]
        assert parked.location == "join"


async def test_arrivals_waiting_at_a_join_share_one_token_and_extra_ones_wait_for_the_next_firing(host, store):
    """Flow ``jm`` delivers twice before ``ju`` delivers once: the join fires once (one arrival per
    flow), and the second ``jm`` arrival waits on; one token at the join stands for what waits."""
    text = model(
        '<startEvent id="s"/><parallelGateway id="fork"/><exclusiveGateway id="m"/><userTask id="u"/>'
        '<parallelGateway id="join"/><task id="after"/><endEvent id="e"/>'
        + flow("f0", "s", "fork") + flow("f1", "fork", "m") + flow("f2", "fork", "m") + flow("f3", "fork", "u")
        + flow("jm", "m", "join") + flow("ju", "u", "join") + chain("join", "after", "e")
    )
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(source(text))

        async def where() -> list[str]:
            return sorted(t.location for t in (await engine._runtime(run.id)).state.tokens.values())

        assert await where() == ["join", "u"]
        [task] = await engine.tasks(run_id=run.id)
        run = await engine.complete_task(task.id, {})
        assert run.status is RunStatus.WAITING and await where() == ["join"]
        assert completed_steps(await engine.history(run.id)) == ["after"]


async def test_user_task_becomes_a_human_task_with_its_lane(host, store):
    text = model(
        '<laneSet><lane id="l" name="Managers"><flowNodeRef>u</flowNodeRef></lane></laneSet>'
        '<startEvent id="s"/><userTask id="u" name="Approve"/><endEvent id="e"/>' + chain("s", "u", "e")
    )
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(source(text))
        [task] = await engine.tasks()
        assert task.spec.name == "Approve"
        run = await engine.complete_task(task.id, {"approved": True})
    assert run.status is RunStatus.COMPLETED and run.outputs == {"approved": True}


async def test_timer_catch_event_on_the_engine_clock(host, store):
    text = model(
        '<startEvent id="s"/><intermediateCatchEvent id="wait"><timerEventDefinition><timeDuration>PT1H</timeDuration>'
        '</timerEventDefinition></intermediateCatchEvent><endEvent id="e"/>' + chain("s", "wait", "e")
    )
    clock = FakeClock()
    async with Engine.open(store, host=host, clock=clock) as engine:
        run = await engine.run(source(text))
        assert run.status is RunStatus.WAITING
        await engine.advance_clock(3599)
        assert (await engine.get_run(run.id)).status is RunStatus.WAITING
        await engine.advance_clock(1)
        assert (await engine.get_run(run.id)).status is RunStatus.COMPLETED


EVENT_BASED = model(
    '<startEvent id="s"/><eventBasedGateway id="g"/>'
    '<intermediateCatchEvent id="sig"><signalEventDefinition signalRef="go"/></intermediateCatchEvent>'
    '<intermediateCatchEvent id="tim"><timerEventDefinition><timeDuration>PT1M</timeDuration></timerEventDefinition></intermediateCatchEvent>'
    '<task id="on_signal"/><task id="on_timer"/><endEvent id="e1"/><endEvent id="e2"/>'
    + flow("f_s", "s", "g") + flow("f1", "g", "sig") + flow("f2", "g", "tim")
    + chain("sig", "on_signal", "e1") + chain("tim", "on_timer", "e2"),
    extra='<signal id="go" name="Go"/>',
)


@pytest.mark.parametrize("first", ["signal", "timer"])
async def test_event_based_gateway_races_and_withdraws_the_loser(host, store, first):
    clock = FakeClock()
    async with Engine.open(store, host=host, clock=clock) as engine:
        run = await engine.run(source(EVENT_BASED))
        assert run.status is RunStatus.WAITING
        if first == "signal":
            await engine.send_signal("Go")
        else:
            await engine.advance_clock(60)
        run = await engine.get_run(run.id)
        assert run.status is RunStatus.COMPLETED
        await engine.advance_clock(120)  # the withdrawn timer does nothing
        assert await engine.send_signal("Go") == []
        events = await engine.history(run.id)
    assert completed_steps(events) == ["on_signal" if first == "signal" else "on_timer"]


async def test_interrupting_boundary_timer_on_a_user_task(host, store):
    text = model(
        '<startEvent id="s"/><userTask id="u"/><boundaryEvent id="late" attachedToRef="u">'
        '<timerEventDefinition><timeDuration>PT10M</timeDuration></timerEventDefinition></boundaryEvent>'
        '<task id="escalate"/><endEvent id="e1"/><endEvent id="e2"/>'
        + chain("s", "u", "e1") + chain("late", "escalate", "e2")
    )
    clock = FakeClock()
    async with Engine.open(store, host=host, clock=clock) as engine:
        run = await engine.run(source(text))
        await engine.advance_clock(600)
        run = await engine.get_run(run.id)
        assert run.status is RunStatus.COMPLETED
        assert await engine.tasks() == []
        events = await engine.history(run.id)
    assert completed_steps(events) == ["escalate"]


async def test_non_interrupting_cycle_boundary_repeats_while_the_task_waits(host, store):
    text = model(
        '<startEvent id="s"/><userTask id="u"/><boundaryEvent id="remind" attachedToRef="u" cancelActivity="false">'
        '<timerEventDefinition><timeCycle>R3/PT1H</timeCycle></timerEventDefinition></boundaryEvent>'
        '<task id="reminder"/><endEvent id="e1"/><endEvent id="e2"/>'
        + chain("s", "u", "e1") + chain("remind", "reminder", "e2")
    )
    clock = FakeClock()
    async with Engine.open(store, host=host, clock=clock) as engine:
        run = await engine.run(source(text))
        for _ in range(5):
            await engine.advance_clock(3600)
        events = await engine.history(run.id)
        assert completed_steps(events) == ["reminder"] * 3
        [task] = await engine.tasks()
        run = await engine.complete_task(task.id, {})
    assert run.status is RunStatus.COMPLETED


ERRORS = model(
    '<startEvent id="s"/>'
    '<subProcess id="sub"><startEvent id="ss"/><exclusiveGateway id="check" default="ok"/>'
    '<endEvent id="fail"><errorEventDefinition errorRef="tooBig"/></endEvent><endEvent id="done"/>'
    + flow("f_ss", "ss", "check") + flow("bad", "check", "fail", "amount &gt; 10") + flow("ok", "check", "done")
    + '</subProcess>'
    '<boundaryEvent id="caught" attachedToRef="sub"><errorEventDefinition errorRef="tooBig"/></boundaryEvent>'
    '<task id="handle"/><task id="normal"/><endEvent id="e1"/><endEvent id="e2"/>'
    + chain("s", "sub", "normal", "e1") + chain("caught", "handle", "e2"),
    extra='<error id="tooBig" errorCode="AmountTooBig"/>',
)


@pytest.mark.parametrize(("amount", "expected"), [(11, ["sub", "handle"]), (5, ["sub", "normal"])])
async def test_error_end_event_in_a_subprocess_goes_to_its_error_boundary(host, store, amount, expected):
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(source(ERRORS), {"amount": amount})
        events = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED
    assert [s for s in completed_steps(events)] == expected


async def test_uncaught_error_fails_the_run_naming_the_element(host, store):
    text = ERRORS.replace('<boundaryEvent id="caught" attachedToRef="sub"><errorEventDefinition errorRef="tooBig"/></boundaryEvent>', "").replace(
        '<task id="handle"/>', ""
    ).replace(chain("caught", "handle", "e2"), "")
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(source(text), {"amount": 50})
    assert run.status is RunStatus.FAILED
    assert (run.error.code, run.error.element) == ("AmountTooBig", "fail")


async def test_failing_tool_goes_to_a_catch_all_error_boundary(host, store):
    @tool
    def explode() -> dict:
        raise RuntimeError("kaput")

    text = model(
        '<startEvent id="s"/><serviceTask id="t" vrooli:tool="explode"/><boundaryEvent id="b" attachedToRef="t">'
        '<errorEventDefinition/></boundaryEvent><task id="recover"/><endEvent id="e1"/><endEvent id="e2"/>'
        + chain("s", "t", "e1") + chain("b", "recover", "e2")
    )
    async with Engine.open(store, host=host, tools=[explode]) as engine:
        run = await engine.run(source(text))
    assert run.status is RunStatus.COMPLETED
    assert run.outputs["error"] == {"code": "RuntimeError"}


async def test_terminate_end_event_ends_everything(host, store):
    text = model(
        '<startEvent id="s"/><parallelGateway id="fork"/><userTask id="slow"/><endEvent id="stop"><terminateEventDefinition/></endEvent>'
        '<endEvent id="e"/>' + flow("f_s", "s", "fork") + flow("f1", "fork", "slow") + flow("f2", "fork", "stop") + chain("slow", "e")
    )
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(source(text))
        assert run.status is RunStatus.COMPLETED
        assert await engine.tasks() == []


async def test_call_activity_into_a_process_of_the_same_file(host, store):
    text = (
        model('<startEvent id="s"/><callActivity id="call" calledElement="helper"/><endEvent id="e"/>' + chain("s", "call", "e"))
        .replace("</definitions>", "")
        + '<process id="helper" isExecutable="false"><serviceTask id="inner" vrooli:tool="double"/></process></definitions>'
    )
    async with Engine.open(store, host=host, tools=[double]) as engine:
        run = await engine.run(source(text), {"x": 4})
        events = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED and run.outputs["x"] == 8
    assert completed_steps(events) == ["call", "inner"]


async def test_script_task_loop(host, store):
    text = model(
        '<startEvent id="s"/><scriptTask id="inc" scriptFormat="python"><script>x = x + 1</script></scriptTask>'
        '<exclusiveGateway id="more" default="out"/><endEvent id="e"/>'
        + chain("s", "inc", "more") + flow("back", "more", "inc", "x &lt; 5") + flow("out", "more", "e")
    )
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(source(text), {"x": 0})
    assert run.status is RunStatus.COMPLETED and run.outputs == {"x": 5} and run.steps == 5


async def test_conditional_flows_leaving_a_task_and_its_default(host, store):
    text = model(
        '<startEvent id="s"/><task id="t" default="f3"/><task id="two"/><task id="four"/><task id="three"/><endEvent id="e"/>'
        + chain("s", "t") + flow("f2", "t", "two", "take2") + flow("f4", "t", "four", "take4") + flow("f3", "t", "three")
        + chain("two", "e") + flow("x4", "four", "e") + flow("x3", "three", "e")
    )
    async with Engine.open(store, host=host) as engine:
        for take2, take4, expected in ((True, False, ["two"]), (False, True, ["four"]), (False, False, ["three"])):
            run = await engine.run(source(text), {"take2": take2, "take4": take4})
            assert completed_steps(await engine.history(run.id)) == ["t", *expected]


async def test_multi_instance_parallel_with_collection_and_output(host, store):
    text = model(
        '<startEvent id="s"/><serviceTask id="each" vrooli:tool="double">'
        '<multiInstanceLoopCharacteristics><extensionElements><zeebe:loopCharacteristics inputCollection="= items" '
        'inputElement="x" outputCollection="results" outputElement="= x"/></extensionElements></multiInstanceLoopCharacteristics>'
        '</serviceTask><endEvent id="e"/>' + chain("s", "each", "e")
    )
    async with Engine.open(store, host=host, tools=[double]) as engine:
        run = await engine.run(source(text), {"items": [1, 2, 3]})
        events = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED
    assert completed_steps(events) == ["each"] * 3
    assert sorted(run.outputs["results"]) == [2, 4, 6]


async def test_signal_end_event_reaches_another_run(host, store):
    waiter = model(
        '<startEvent id="s"/><intermediateCatchEvent id="c"><signalEventDefinition signalRef="sg"/></intermediateCatchEvent>'
        '<endEvent id="e"/>' + chain("s", "c", "e"),
        process="waiter", extra='<signal id="sg" name="Too big"/>',
    )
    thrower = model(
        '<startEvent id="s"/><endEvent id="e"><signalEventDefinition signalRef="sg"/></endEvent>' + chain("s", "e"),
        process="thrower", extra='<signal id="sg" name="Too big"/>',
    )
    async with Engine.open(store, host=host) as engine:
        w = await engine.run(source(waiter, "waiter"))
        assert w.status is RunStatus.WAITING
        await engine.run(source(thrower, "thrower"))
        assert (await engine.get_run(w.id)).status is RunStatus.COMPLETED


async def test_resume_in_a_new_engine(host, store):
    text = model('<startEvent id="s"/><userTask id="u"/><serviceTask id="t" vrooli:tool="double"/><endEvent id="e"/>' + chain("s", "u", "t", "e"))
    async with Engine.open(store, host=host, tools=[double]) as engine:
        await engine.run(source(text), {"x": 3})
        [task] = await engine.tasks()
    async with Engine.open(store, host=host, tools=[double]) as engine:
        run = await engine.complete_task(task.id, {})
    assert run.status is RunStatus.COMPLETED and run.outputs["x"] == 6


@pytest.mark.parametrize("condition", ["= stock &gt; 10", "${stock &gt; 10}", "stock &gt; 10"], ids=["feel", "juel", "sandbox"])
async def test_conditional_catch_event_in_any_language(host, store, condition):
    text = model(
        '<startEvent id="s"/><intermediateCatchEvent id="wait"><conditionalEventDefinition><condition>'
        + condition + '</condition></conditionalEventDefinition></intermediateCatchEvent><task id="sell"/><endEvent id="e"/>'
        + chain("s", "wait", "sell", "e")
    )
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(source(text), {"stock": 3})
        assert run.status is RunStatus.WAITING
        run = await engine.set_variables(run.id, {"stock": 5})
        assert run.status is RunStatus.WAITING
        run = await engine.set_variables(run.id, {"stock": 50})
    assert run.status is RunStatus.COMPLETED


async def test_dead_path_elimination_lets_a_parallel_join_after_an_exclusive_split_fire(host, store):
    text = model(
        '<startEvent id="s"/><exclusiveGateway id="x" default="fb"/><task id="a"/><task id="b"/>'
        '<parallelGateway id="join"/><task id="after"/><endEvent id="e"/>'
        + flow("f_s", "s", "x") + flow("fa", "x", "a", "go") + flow("fb", "x", "b")
        + flow("ja", "a", "join") + flow("jb", "b", "join") + chain("join", "after", "e")
    ).replace('<process id="p" isExecutable="true">', '<process id="p" isExecutable="true" vrooli:joins="dpe">')
    async with Engine.open(store, host=host) as engine:
        _, graph, _ = engine.parse(source(text))
        assert not any("parallel join" in w.message for w in graph.warnings)
        for go, taken in ((True, "a"), (False, "b")):
            run = await engine.run(source(text), {"go": go})
            assert run.status is RunStatus.COMPLETED
            assert completed_steps(await engine.history(run.id)) == [taken, "after"]


async def test_a_fork_wired_straight_into_a_join_fires_once(host, store):
    text = model(
        '<startEvent id="s"/><parallelGateway id="fork"/><parallelGateway id="join"/><task id="after"/><endEvent id="e"/>'
        + flow("f0", "s", "fork") + flow("f1", "fork", "join") + flow("f2", "fork", "join") + chain("join", "after", "e")
    )
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(source(text))
        events = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED
    assert completed_steps(events) == ["after"]


async def test_message_and_signal_start_events_create_runs(host, store):
    orders = model(
        '<startEvent id="placed"><messageEventDefinition messageRef="m"/></startEvent>'
        '<serviceTask id="t" vrooli:tool="double"/><endEvent id="e"/>' + chain("placed", "t", "e"),
        process="orders", extra='<message id="m" name="order placed"/>',
    )
    alarms = model(
        '<startEvent id="alarm"><signalEventDefinition signalRef="sg"/></startEvent><task id="evacuate"/><endEvent id="e"/>'
        + chain("alarm", "evacuate", "e"),
        process="alarms", extra='<signal id="sg" name="fire"/>',
    )
    thrower = model(
        '<startEvent id="s"/><endEvent id="e"><signalEventDefinition signalRef="sg"/></endEvent>' + chain("s", "e"),
        process="thrower", extra='<signal id="sg" name="fire"/>',
    )
    async with Engine.open(store, host=host, tools=[double]) as engine:
        await engine.load(source(orders, "orders"))
        await engine.load(source(alarms, "alarms"))
        [run] = await engine.send_message("order placed", {"x": 5})
        assert run.routine.id == "orders" and run.status is RunStatus.COMPLETED and run.outputs["x"] == 10
        [alarm] = await engine.send_signal("fire")
        assert alarm.routine.id == "alarms" and alarm.status is RunStatus.COMPLETED
        await engine.run(source(thrower, "thrower"))  # a thrown signal starts one more alarm run
        assert len(await engine.list_runs(routine_id="alarms")) == 2
        assert await engine.send_message("nobody listens") == []


async def test_conditional_start_events_create_runs_when_their_condition_holds(host, store):
    """As Camunda 7's evaluateStartConditions and Camunda 8's conditional evaluation: each start whose
    condition holds for the given variables starts a run there, with them as inputs."""
    stock = model(
        '<startEvent id="low"><conditionalEventDefinition><condition>= stock &lt; 10</condition>'
        '</conditionalEventDefinition></startEvent><startEvent id="empty"><conditionalEventDefinition>'
        '<condition>${stock == 0}</condition></conditionalEventDefinition></startEvent>'
        '<startEvent id="by_hand"/><userTask id="reorder"/><endEvent id="e"/>'
        + chain("low", "reorder", "e") + flow("f_empty", "empty", "reorder") + flow("f_hand", "by_hand", "reorder"),
        process="stock",
    )
    audit = model(
        '<startEvent id="big"><conditionalEventDefinition><condition>amount &gt; 1000</condition>'
        '</conditionalEventDefinition></startEvent><userTask id="review"/><endEvent id="e"/>' + chain("big", "review", "e"),
        process="audit",
    )
    async with Engine.open(store, host=host) as engine:
        await engine.load(source(stock, "stock"))
        await engine.load(source(audit, "audit"))
        assert await engine.evaluate_conditions({"stock": 50, "amount": 5}) == []
        [low] = await engine.evaluate_conditions({"stock": 4, "amount": 5})
        assert low.routine.id == "stock" and low.status is RunStatus.WAITING and low.inputs["stock"] == 4
        assert [e.payload.start for e in await engine.history(low.id) if e.type == "run.created"] == ["low"]
        both = await engine.evaluate_conditions({"stock": 0, "amount": 5})
        starts = sorted([e.payload.start for r in both for e in await engine.history(r.id) if e.type == "run.created"])
        assert starts == ["empty", "low"]
        [big] = await engine.evaluate_conditions({"stock": 0, "amount": 5000}, routine="audit")
        assert big.routine.id == "audit"
        # A routine started directly still waits at its conditional start until the condition holds.
        direct = await engine.run(source(audit, "audit"), {"amount": 1})
        assert direct.status is RunStatus.WAITING and await engine.tasks(run_id=direct.id) == []
        direct = await engine.set_variables(direct.id, {"amount": 2000})
        assert len(await engine.tasks(run_id=direct.id)) == 1


async def test_a_conditional_start_that_cannot_be_evaluated_starts_nothing(host, store):
    broken = model(
        '<startEvent id="odd"><conditionalEventDefinition><condition>count &gt; 2</condition>'
        '</conditionalEventDefinition></startEvent><endEvent id="e"/>' + chain("odd", "e"),
        process="broken",
    )
    fine = model(
        '<startEvent id="any"><conditionalEventDefinition><condition>= true</condition>'
        '</conditionalEventDefinition></startEvent><endEvent id="e"/>' + chain("any", "e"),
        process="fine",
    )
    async with Engine.open(store, host=host) as engine:
        await engine.load(source(fine, "fine"))
        await engine.load(source(broken, "broken"))
        with pytest.raises(ExpressionError) as caught:
            await engine.evaluate_conditions({"count": "many"})
        assert "odd" in str(caught.value)
        assert await engine.list_runs() == []
        runs = await engine.evaluate_conditions({"count": 3})
        assert sorted(r.routine.id for r in runs) == ["broken", "fine"]
        assert {r.status for r in runs} == {RunStatus.COMPLETED}


async def test_zeebe_correlation_keys_and_receive_tasks(host, store):
    text = model(
        '<startEvent id="s"/><intermediateCatchEvent id="paid"><messageEventDefinition messageRef="m_paid"/></intermediateCatchEvent>'
        '<receiveTask id="shipped" messageRef="m_shipped"/><endEvent id="e"/>' + chain("s", "paid", "shipped", "e"),
        extra=(
            '<message id="m_paid" name="payment received"><extensionElements>'
            '<zeebe:subscription correlationKey="= orderId"/></extensionElements></message>'
            '<message id="m_shipped" name="parcel shipped"><extensionElements>'
            '<zeebe:subscription correlationKey="= orderId"/></extensionElements></message>'
        ),
    )
    async with Engine.open(store, host=host) as engine:
        a = await engine.run(source(text), {"orderId": "A-1"})
        b = await engine.run(source(text), {"orderId": "B-2"})
        [moved] = await engine.send_message("payment received", {"amount": 10}, correlation="B-2")
        assert moved.id == b.id and moved.status is RunStatus.WAITING  # now at the receive task
        assert await engine.send_message("parcel shipped", correlation="A-1") == []  # A still waits to be paid
        [done] = await engine.send_message("parcel shipped", correlation="B-2")
        assert done.id == b.id and done.status is RunStatus.COMPLETED and done.outputs["amount"] == 10
        assert (await engine.get_run(a.id)).status is RunStatus.WAITING


async def test_a_routine_that_throws_its_own_start_signal_is_stopped_with_a_clear_error(host, store):
    from vrooli_core.errors import RunError

    echo = model(
        '<startEvent id="s"><signalEventDefinition signalRef="sg"/></startEvent>'
        '<endEvent id="e"><signalEventDefinition signalRef="sg"/></endEvent>' + chain("s", "e"),
        process="echo", extra='<signal id="sg" name="ping"/>',
    )
    async with Engine.open(store, host=host) as engine:
        await engine.load(source(echo, "echo"))
        with pytest.raises(RunError, match="started runs 32 levels deep") as err:
            await engine.send_signal("ping")
        assert err.value.code == "start_loop"
        assert len(await engine.list_runs(routine_id="echo")) == 32


def multi_user_task(boundary: str) -> str:
    return model(
        '<startEvent id="s"/><userTask id="u"><multiInstanceLoopCharacteristics><extensionElements>'
        '<zeebe:loopCharacteristics inputCollection="= items" inputElement="item"/></extensionElements>'
        "</multiInstanceLoopCharacteristics></userTask>"
        + boundary
        + '<task id="handled"/><task id="done"/><endEvent id="e1"/><endEvent id="e2"/>'
        + chain("s", "u", "done", "e1")
        + chain("b", "handled", "e2")
    )


async def test_an_interrupting_boundary_on_a_multi_instance_ends_every_instance(host, store):
    text = multi_user_task(
        '<boundaryEvent id="b" attachedToRef="u">'
        "<timerEventDefinition><timeDuration>PT10M</timeDuration></timerEventDefinition></boundaryEvent>"
    )
    async with Engine.open(store, host=host, clock=FakeClock()) as engine:
        run = await engine.start(source(text), {"items": [1, 2, 3]})
        await engine.wait(run.id)
        assert len(await engine.tasks()) == 3
        await engine.advance_clock(600)
        run = await engine.get_run(run.id)
        assert await engine.tasks() == []
        events = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED
    assert completed_steps(events) == ["handled"]  # once, for the body


async def test_a_non_interrupting_boundary_on_a_multi_instance_fires_once_for_the_body(host, store):
    text = multi_user_task(
        '<boundaryEvent id="b" attachedToRef="u" cancelActivity="false"><signalEventDefinition signalRef="sg"/></boundaryEvent>'
    ).replace('<process id="p"', '<signal id="sg" name="nudge"/><process id="p"')
    async with Engine.open(store, host=host) as engine:
        run = await engine.start(source(text), {"items": [1, 2]})
        await engine.wait(run.id)
        await engine.send_signal("nudge")
        for task in await engine.tasks():
            run = await engine.complete_task(task.id, {})
        events = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED, run.error
    assert sorted(completed_steps(events)).count("handled") == 1
    assert completed_steps(events)[-1] == "done"


async def test_an_error_in_one_instance_interrupts_the_whole_multi_instance(host, store):
    text = model(
        '<startEvent id="s"/><scriptTask id="u" scriptFormat="python"><script>fail("Bad") if item == 2 else None</script>'
        '<multiInstanceLoopCharacteristics><extensionElements><zeebe:loopCharacteristics inputCollection="= items" '
        'inputElement="item"/></extensionElements></multiInstanceLoopCharacteristics></scriptTask>'
        '<boundaryEvent id="b" attachedToRef="u"><errorEventDefinition/></boundaryEvent>'
        '<task id="handled"/><task id="done"/><endEvent id="e1"/><endEvent id="e2"/>'
        + chain("s", "u", "done", "e1") + chain("b", "handled", "e2")
    )
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(source(text), {"items": [1, 2, 3]})
        events = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED, run.error
    assert completed_steps(events).count("handled") == 1 and "done" not in completed_steps(events)


@tool
def greet(greeting: str, total: int, missing: str | None = None) -> dict:
    return {"text": f"{greeting} {total} {missing}"}


async def test_camunda_7_parameters_literal_text_is_a_constant_and_expressions_evaluate(host, store):
    text = model(
        '<startEvent id="s"/><serviceTask id="t" camunda:type="greet" xmlns:camunda="http://camunda.org/schema/1.0/bpmn">'
        "<extensionElements><camunda:inputOutput>"
        '<camunda:inputParameter name="greeting">Hello there</camunda:inputParameter>'
        '<camunda:inputParameter name="total">${amount * 2}</camunda:inputParameter>'
        '<camunda:inputParameter name="missing"/>'
        '<camunda:outputParameter name="said">${text}</camunda:outputParameter>'
        '<camunda:outputParameter name="status">sent</camunda:outputParameter>'
        "</camunda:inputOutput></extensionElements></serviceTask><endEvent id=\"e\"/>"
        + chain("s", "t", "e")
    )
    async with Engine.open(store, host=host, tools=[greet]) as engine:
        run = await engine.run(source(text), {"amount": 21})
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.outputs["said"] == "Hello there 42 None" and run.outputs["status"] == "sent"
