"""Ad-hoc subprocesses: which inner activities run, in what order, and when the subprocess completes."""

from __future__ import annotations

import pytest
from bpmn_builder import chain, model, source

from vrooli_core import Engine
from vrooli_core.model import RunStatus

pytestmark = pytest.mark.anyio


def logs(tid: str) -> str:
    return f'<scriptTask id="{tid}" scriptFormat="python"><script>log = log + ["{tid}"]</script></scriptTask>'


def adhoc(inner: str, attrs: str = "", extra: str = "") -> str:
    return (
        '<startEvent id="s"/>'
        + f'<adHocSubProcess id="ah"{attrs}>{extra}{inner}</adHocSubProcess>'
        + logs("after")
        + '<endEvent id="e"/>'
        + chain("s", "ah", "after", "e")
    )


def active(expression: str) -> str:
    return f'<extensionElements><zeebe:adHoc activeElementsCollection="{expression}"/></extensionElements>'


async def run_log(host, store, text, inputs=None):
    async with Engine.open(store, host=host) as engine:
        return await engine.run(source(text), {"log": [], **(inputs or {})})


async def test_every_inner_activity_runs_then_the_subprocess_completes(host, store):
    # b has a flow on to c: it runs after b, inside the subprocess.
    text = model(adhoc(logs("a") + logs("b") + logs("c") + chain("b", "c")))
    run = await run_log(host, store, text)
    assert run.status is RunStatus.COMPLETED, run.error
    assert sorted(run.outputs["log"][:-1]) == ["a", "b", "c"] and run.outputs["log"][-1] == "after"
    assert run.outputs["log"].index("b") < run.outputs["log"].index("c")


async def test_sequential_ordering_runs_one_activity_at_a_time_in_the_order_asked(host, store):
    text = model(
        adhoc(
            logs("a") + logs("b") + logs("c") + chain("b", "c"),
            ' ordering="Sequential"',
            active("= order"),
        )
    )
    run = await run_log(host, store, text, {"order": ["b", "a"]})
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.outputs["log"] == ["b", "c", "a", "after"]


async def test_an_empty_active_list_completes_at_once(host, store):
    text = model(adhoc(logs("a"), "", active("= []")))
    run = await run_log(host, store, text)
    assert run.outputs["log"] == ["after"]


COMPLETION = '<completionCondition xsi:type="tFormalExpression">= enough</completionCondition>'


@pytest.mark.parametrize(("cancel", "remaining"), [("true", []), ("false", ["b"])])
async def test_the_completion_condition_ends_it_cancelling_the_rest_or_not(host, store, cancel, remaining):
    text = model(
        adhoc(
            '<userTask id="a"/><userTask id="b"/>',
            f' cancelRemainingInstances="{cancel}"',
            COMPLETION,
        )
    )
    async with Engine.open(store, host=host) as engine:
        run = await engine.start(source(text), {"log": [], "enough": False})
        run = await engine.wait(run.id)
        tasks = {t.spec.name: t for t in await engine.tasks()}
        assert set(tasks) == {"a", "b"}
        run = await engine.complete_task(tasks["a"].id, {"enough": True})
        left = [t.spec.name for t in await engine.tasks()]
        assert left == remaining
        if remaining:
            assert run.status is RunStatus.WAITING
            run = await engine.complete_task((await engine.tasks())[0].id, {})
    assert run.status is RunStatus.COMPLETED, run.error
    assert run.outputs["log"] == ["after"]


async def test_an_element_that_cannot_be_activated_fails_naming_the_subprocess(host, store):
    text = model(adhoc(logs("a") + logs("b") + chain("a", "b"), "", active("= [&quot;b&quot;, &quot;zz&quot;]")))
    run = await run_log(host, store, text)
    assert run.status is RunStatus.FAILED
    assert run.error.code == "adhoc_error" and run.error.element == "ah"
    assert "'b', 'zz'" in run.error.message
