"""The third-party models in shared/conformance/bpmn/, driven as their READMEs describe.

The models and their READMEs stay where they are (never copied here); expected element counts are
read from the MIWG README at test time.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from vrooli_bpmn.inventory import di_counts, element_counts
from vrooli_bpmn.navigator import BpmnTestNavigator
from vrooli_bpmn.parser import Parser

from vrooli_core import Engine
from vrooli_core.errors import RoutineError
from vrooli_core.model import RoutineSource, RunStatus

ROOT = Path(os.environ.get("VROOLI_CONFORMANCE_DIR") or Path(__file__).resolve().parents[4] / "shared" / "conformance")
MIWG = ROOT / "bpmn" / "miwg"
ELEMENTS = ROOT / "bpmn" / "bpmn-elements"

pytestmark = pytest.mark.skipif(
    not MIWG.is_dir(), reason=f"the shared conformance models are not at {ROOT} (set VROOLI_CONFORMANCE_DIR)"
)


def _source(path: Path) -> RoutineSource:
    from vrooli_core.engine import read_source

    return read_source(path, None)


def _readme_counts() -> dict[str, dict[str, int]]:
    text = (MIWG / "README.md").read_text()
    block = text.split("## Element counts", 1)[1].split("```")[1]
    counts: dict[str, dict[str, int]] = {}
    current = None
    for line in block.splitlines():
        if not line.strip():
            continue
        if not line.startswith(" "):
            current, line = line.split(None, 1)[0], line.split(None, 1)[1]
        for name, n in re.findall(r"(\w+) (\d+)", line):
            counts.setdefault(current, {})[name] = int(n)
    return counts


def _readme_di() -> dict[str, tuple[int, int, int]]:
    rows = re.findall(r"^\| `([A-Z]\.\d\.\d)\.bpmn` \|.*?\| (\d+)/(\d+)/(\d+) \|", (MIWG / "README.md").read_text(), re.M)
    return {name: (int(a), int(b), int(c)) for name, a, b, c in rows}


MIWG_FILES = sorted(p.stem for p in MIWG.glob("*.bpmn")) if MIWG.is_dir() else []


@pytest.mark.parametrize("name", MIWG_FILES)
def test_miwg_element_inventory_and_di(name):
    source = _source(MIWG / f"{name}.bpmn")
    expected = _readme_counts()[name]
    assert dict(element_counts(source)) == expected
    assert di_counts(source) == _readme_di()[name]


@pytest.mark.parametrize("name", MIWG_FILES)
def test_miwg_models_parse_with_every_process(name):
    defs, _ = Parser(_source(MIWG / f"{name}.bpmn"), lenient=True).parse()
    assert len(defs.processes) == _readme_counts()[name]["process"]


#: What this version refuses to run in these models, and why (each refusal names element and line).
REFUSED = {
    "B.2.0": "multi-instance needs a loopCardinality or an input collection",
    "C.3.0": "unsupported XPath expression",
    "C.6.0": "timer date is empty",  # its timer catch events have an empty <timeDate/>
}


@pytest.mark.parametrize("name", MIWG_FILES)
def test_miwg_models_load_for_running_or_name_what_is_not_supported(name):
    source = _source(MIWG / f"{name}.bpmn")
    if name not in REFUSED:
        graph = BpmnTestNavigator().load(source)
        assert graph.steps
        return
    with pytest.raises(RoutineError) as err:
        BpmnTestNavigator().load(source)
    problems = err.value.problems or [err.value]
    assert all(p.element and p.line for p in problems)
    assert REFUSED[name] in str(err.value), str(err.value)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("A.1.0", ["Task 1", "Task 2", "Task 3"]),
        ("A.2.0", ["Task 1", "Task 2"]),
        # The split's flows to Task 3 and Task 4 have empty conditions (true): the first, Task 3, is
        # taken, then the merge; one token reaches End Event.
        ("A.2.1", ["Task 1", "Task 3"]),
    ],
)
async def test_miwg_strict_runs(anyio_backend, host, store, name, expected):
    async with Engine.open(store, host=host) as engine:
        routine = await engine.load(MIWG / f"{name}.bpmn", format="bpmn-test")
        graph = await engine.graph(routine.id, routine.version)
        runs = [await engine.run(routine) for _ in range(2)]
        visits = [[graph.steps[e.payload.step].name for e in await engine.history(r.id) if e.type == "step.completed"] for r in runs]
    assert all(r.status is RunStatus.COMPLETED for r in runs)
    assert visits[0] == visits[1] == expected


# -- bpmn-elements: execution ---------------------------------------------------------------------


#: The JavaScript scripts of these fixtures, each with its meaning in the Python script subset.
#: ``environment.services.log(x)`` appends to ``logged``; ``environment.output.count`` is the variable
#: ``count``, which a run starts with as None (JavaScript's "not in environment.output").
JS_SCRIPTS = {
    'environment.services.log("task1"); next()': 'logged = logged + ["task1"]',
    'environment.services.log("task2"); next()': 'logged = logged + ["task2"]',
    "if ('count' in environment.output) environment.output.count++;\nelse environment.output.count = 0;\nnext();":
        "count = 0 if count is None else count + 1",
}


def _translate_js(text: str) -> str:
    try:
        return JS_SCRIPTS[text.strip()]
    except KeyError:
        raise ValueError("not one of the scripts this adapter knows") from None


class ElementsNavigator(BpmnTestNavigator):
    """The adapter the bpmn-elements README calls for: the services its tests supply and the meaning
    of its scripts."""

    name = "bpmn-elements"
    services = {"isAbove": lambda limit, value: value > limit, "log": lambda *args: None}
    script_languages = {"javascript": _translate_js, "js": _translate_js}


class ElementsDpeNavigator(ElementsNavigator):
    """The same, with dead-path elimination, for the models marked [DPE]."""

    name = "bpmn-elements-dpe"
    dpe = True


@pytest.fixture
def elements_host(host):
    from vrooli_core.plugins import hookimpl

    class Adapter:
        @hookimpl
        def vrooli_register_navigators(self):
            return [ElementsNavigator, ElementsDpeNavigator]

    host.register(Adapter(), "bpmn-elements")
    return host


#: A submitted form, in the shape the models' output mappings read (``${content.output.form.amount}``).
FORM_AMOUNT_11 = {"content": {"output": {"form": {"amount": 11}}}}


async def _elements_run(engine, name, inputs=None, *, dpe=False):
    routine = await engine.load(ELEMENTS / f"{name}.bpmn", format="bpmn-elements-dpe" if dpe else "bpmn-elements")
    return await engine.run(routine, inputs or {})


def _steps(events) -> list[str]:
    return [e.payload.step for e in events if e.type in ("step.completed", "step.suspended")]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize(
    ("inputs", "expected"),
    [({"take2": True, "take4": False}, "task2"), ({"take2": False, "take4": True}, "task4"), ({"take2": False, "take4": False}, "task3")],
)
async def test_elements_conditional_flows_leaving_a_task(anyio_backend, elements_host, store, inputs, expected):
    async with Engine.open(store, host=elements_host) as engine:
        run = await _elements_run(engine, "conditional-flows", inputs)
        steps = _steps(await engine.history(run.id))
    assert run.status is RunStatus.COMPLETED
    assert steps == ["task1", expected]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_elements_error_end_event_caught_on_the_subprocess(anyio_backend, elements_host, store):
    async with Engine.open(store, host=elements_host) as engine:
        waiting = await engine.run(_signal_waiter("Too big signal"))
        run = await _elements_run(engine, "bpmn-error")
        [task] = await engine.tasks(run.id)
        run = await engine.complete_task(task.id, FORM_AMOUNT_11)
        steps = _steps(await engine.history(run.id))
        assert (await engine.get_run(waiting.id)).status is RunStatus.COMPLETED  # "Too big signal" was sent once
    assert run.status is RunStatus.COMPLETED
    assert "placeOrder" not in steps


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_elements_non_interrupting_escalation(anyio_backend, elements_host, store):
    async with Engine.open(store, host=elements_host) as engine:
        waiting = await engine.run(_signal_waiter("Too big signal"))
        run = await _elements_run(engine, "escalation")
        [task] = await engine.tasks(run.id)
        run = await engine.complete_task(task.id, FORM_AMOUNT_11)
        assert (await engine.get_run(waiting.id)).status is RunStatus.COMPLETED
    assert run.status is RunStatus.COMPLETED


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_elements_call_activity_into_a_second_pool(anyio_backend, elements_host, store):
    async with Engine.open(store, host=elements_host) as engine:
        run = await _elements_run(engine, "call-activity")
        steps = _steps(await engine.history(run.id))
    assert run.status is RunStatus.COMPLETED
    assert steps == ["call-activity", "task"]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_elements_succeeding_joins_stall_under_strict_semantics(anyio_backend, elements_host, store):
    async with Engine.open(store, host=elements_host) as engine:
        run = await _elements_run(engine, "succeeding-joins", {"input": 50})
        parked = {t.location for t in (await engine._runtime(run.id)).state.tokens.values()}
    assert run.status is RunStatus.WAITING  # [DPE] upstream; strict BPMN waits at join1
    assert "join1" in parked


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_elements_event_based_gateway_race_then_strict_join_waits(anyio_backend, elements_host, store):
    async with Engine.open(store, host=elements_host) as engine:
        run = await _elements_run(engine, "event-based-gateway")
        assert run.status is RunStatus.WAITING
        [moved] = await engine.send_signal("signalEvent")
        parked = {t.location for t in (await engine._runtime(run.id)).state.tokens.values()}
    assert moved.status is RunStatus.WAITING and parked == {"join"}  # the race is strict; the join is [DPE]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_elements_two_executable_processes_run_the_first(anyio_backend, elements_host, store):
    async with Engine.open(store, host=elements_host) as engine:
        run = await _elements_run(engine, "two-executable-processes")
        steps = _steps(await engine.history(run.id))
    assert run.status is RunStatus.COMPLETED and steps == ["Task_1"]


@pytest.mark.parametrize("name", ["exclusive-gateway-as-join", "link-event"])
def test_elements_javascript_scripts_are_refused_by_name_without_a_translator(name):
    with pytest.raises(RoutineError) as err:
        BpmnTestNavigator().load(_source(ELEMENTS / f"{name}.bpmn"))
    problems = err.value.problems or [err.value]
    assert all("is not supported" in p.message and p.element and p.line for p in problems)


def test_a_script_the_translator_does_not_know_is_a_load_error_naming_the_task():
    class Strict(ElementsNavigator):
        script_languages = {"js": lambda text: _translate_js("something else")}

    with pytest.raises(RoutineError) as err:
        Strict().load(_source(ELEMENTS / "exclusive-gateway-as-join.bpmn"))
    assert err.value.element == "script" and err.value.line and "cannot be translated" in str(err.value)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_elements_link_event_jumps_to_its_catch_and_runs_both_scripts_in_order(anyio_backend, elements_host, store):
    async with Engine.open(store, host=elements_host) as engine:
        run = await _elements_run(engine, "link-event", {"logged": []})
        events = await engine.history(run.id)
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.outputs["logged"] == ["task1", "task2"]
    assert not [e for e in events if e.type == "step.suspended"]  # no wait states


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_elements_exclusive_gateways_as_joins_and_a_loop_back(anyio_backend, elements_host, store):
    async with Engine.open(store, host=elements_host) as engine:
        run = await _elements_run(engine, "exclusive-gateway-as-join", {"count": None})
        steps = _steps(await engine.history(run.id))
    assert run.status is RunStatus.COMPLETED, run.error
    # First pass: count=0, the default to task2, which forks: one token to the end, one back round
    # the loop; second pass: count=1, task1, then the end.
    assert run.outputs["count"] == 1
    assert sorted(steps) == ["script", "script", "task1", "task2"]
    assert steps.index("task2") < steps.index("task1")


def _signal_waiter(signal: str) -> RoutineSource:
    text = (
        '<?xml version="1.0"?><definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">'
        f'<signal id="sg" name="{signal}"/><process id="waiter" isExecutable="true"><startEvent id="s"/>'
        '<intermediateCatchEvent id="c"><signalEventDefinition signalRef="sg"/></intermediateCatchEvent><endEvent id="e"/>'
        '<sequenceFlow id="f1" sourceRef="s" targetRef="c"/><sequenceFlow id="f2" sourceRef="c" targetRef="e"/></process></definitions>'
    )
    return RoutineSource(text, "waiter.bpmn")


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_elements_succeeding_joins_complete_with_dead_path_elimination(anyio_backend, elements_host, store):
    async with Engine.open(store, host=elements_host) as engine:
        run = await _elements_run(engine, "succeeding-joins", {"input": 50}, dpe=True)
    assert run.status is RunStatus.COMPLETED  # join1 and join2 each fire once; end is reached


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("first", ["signal", "timer"])
async def test_elements_event_based_gateway_completes_with_dead_path_elimination(anyio_backend, elements_host, store, first):
    from vrooli_core import FakeClock

    async with Engine.open(store, host=elements_host, clock=FakeClock()) as engine:
        run = await _elements_run(engine, "event-based-gateway", dpe=True)
        if first == "signal":
            await engine.send_signal("signalEvent")
        else:
            await engine.advance_clock(60)
        run = await engine.get_run(run.id)
        steps = _steps(await engine.history(run.id))
    assert run.status is RunStatus.COMPLETED
    # The signal branch runs its task; the timer branch has none and goes straight to the join.
    assert [s for s in steps if s != "gateway"] == (["Task_1pfzr39"] if first == "signal" else [])


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_elements_lanes_message_semantics_of_the_main_process(anyio_backend, elements_host, store):
    # [strict] part of lanes.bpmn: the main process runs task1, then waits at its message catch until
    # the message arrives, then ends. Message flows are read (not executed: plain tasks send nothing,
    # and starting the non-executable participant pool is the fixture's engine-specific part), so the
    # test delivers the message the participant's completeTask would send.
    async with Engine.open(store, host=elements_host) as engine:
        routine = await engine.load(ELEMENTS / "lanes.bpmn", format="bpmn-elements")
        defs = ElementsNavigator().load(_source(ELEMENTS / "lanes.bpmn")).data.defs
        assert sorted((s, t) for s, t, _ in defs.message_flows) == [("completeTask", "intermediate"), ("task1", "messageStartEvent")]
        run = await engine.run(routine)
        assert run.status is RunStatus.WAITING
        assert _steps(await engine.history(run.id)) == ["task1"]
        name = defs.processes["mainProcess"].nodes["intermediate"].events[0].name
        [moved] = await engine.send_message(name)
        steps = _steps(await engine.history(run.id))
    assert moved.status is RunStatus.COMPLETED and steps == ["task1"]
    # task1's Camunda 7 output parameters are literal text: constants.
    assert moved.outputs["message"] == "I'm done" and moved.outputs["arbval"] == "10"
