"""``<vrooli:config>``: a JSON object in a task's extension elements, merged into its step's config."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
from bpmn_builder import chain, model, source
from vrooli_bpmn.navigator import BpmnNavigator

from vrooli_core import Engine, Strategy
from vrooli_core.errors import RoutineError
from vrooli_core.model import RunStatus, StepKind
from vrooli_core.plugins import hookimpl


def task(config: str, attrs: str = 'vrooli:kind="model"', tag: str = "serviceTask") -> str:
    """A start, one task carrying ``config`` as its vrooli:config text, an end."""
    return model(
        '<startEvent id="s"/>\n'
        f'<{tag} id="t" name="Classify" {attrs}>\n'
        "<extensionElements>\n"
        f"<vrooli:config>{config}</vrooli:config>\n"
        "</extensionElements>\n"
        f"</{tag}>\n"
        '<endEvent id="e"/>\n' + chain("s", "t", "e")
    )


def load_step(text: str) -> Any:
    return BpmnNavigator().load(source(text)).steps["t"]


def error_of(text: str) -> RoutineError:
    with pytest.raises(RoutineError) as err:
        BpmnNavigator().load(source(text))
    return err.value


def config_line(text: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if "<vrooli:config>" in line)


def test_config_keys_go_into_the_step_config_next_to_the_attributes():
    schema = {"type": "object", "properties": {"category": {"enum": ["billing", "bug"]}}, "required": ["category"]}
    step = load_step(task(
        '{"output_schema": {"type": "object", "properties": {"category": {"enum": ["billing", "bug"]}}, "required": ["category"]},'
        ' "system": "You are terse.", "script": ["{\\"category\\": \\"bug\\"}"], "cache": true}',
        attrs='vrooli:kind="model" vrooli:strategy="reasoning" vrooli:model="offline/scripted" vrooli:prompt="Classify {ticket}"',
    ))
    assert step.kind is StepKind.MODEL and step.strategy == "reasoning"
    assert step.config["output_schema"] == schema
    assert step.config["system"] == "You are terse." and step.config["cache"] is True
    assert step.config["script"] == ['{"category": "bug"}']
    assert step.config["model"] == "offline/scripted" and step.config["prompt"] == "Classify {ticket}"
    assert step.config["description"] == "Classify"


def test_api_config_with_cdata_and_nested_values():
    step = load_step(task(
        '<![CDATA[{"method": "POST", "url": "/replies", "body": {"text": "{inputs.reply}", "n": [1, 2.5, null]},'
        ' "expect": [200, 201], "headers": {"X-A": "<b> & c"}}]]>',
        attrs='vrooli:kind="api"',
    ))
    assert step.kind is StepKind.API
    assert step.config["body"] == {"text": "{inputs.reply}", "n": [1, 2.5, None]}
    assert step.config["expect"] == [200, 201] and step.config["headers"] == {"X-A": "<b> & c"}


def test_a_config_that_repeats_an_attribute_with_the_same_value_is_accepted():
    step = load_step(task('{"model": "offline/echo"}', attrs='vrooli:kind="model" vrooli:model="offline/echo"'))
    assert step.config["model"] == "offline/echo"


def test_a_task_without_config_is_unchanged():
    text = model('<startEvent id="s"/><serviceTask id="t" vrooli:tool="x"/><endEvent id="e"/>' + chain("s", "t", "e"))
    assert dict(load_step(text).config) == {"tool": "x"}


def test_invalid_json_names_the_task_and_the_line_of_the_mistake():
    text = task('{\n  "system": "terse",\n  "prompt" "missing colon"\n}')
    err = error_of(text)
    assert err.element == "t" and err.line == config_line(text)
    assert "vrooli:config is not valid JSON: Expecting ':' delimiter" in err.message
    assert f"(line {config_line(text) + 2}, column 12)" in err.message


@pytest.mark.parametrize(
    ("config", "what"),
    [("[1, 2]", "an array"), ('"text"', "a string"), ("3", "a number"), ("null", "null"), ("true", "a boolean")],
)
def test_a_config_that_is_not_an_object_is_refused(config, what):
    text = task(config)
    err = error_of(text)
    assert err.element == "t" and err.line == config_line(text)
    assert err.message == f"vrooli:config must be a JSON object, not {what}"


def test_empty_config_is_invalid_json():
    err = error_of(task(""))
    assert err.element == "t" and "vrooli:config is not valid JSON" in err.message


@pytest.mark.parametrize(
    ("key", "use"),
    [("inputs", "vrooli:input"), ("outputs", "vrooli:output"), ("kind", "the vrooli:kind attribute"), ("retries", "zeebe:taskDefinition retries")],
)
def test_keys_the_navigator_reads_itself_are_refused(key, use):
    err = error_of(task(f'{{"{key}": {{}}}}'))
    assert err.element == "t" and f"vrooli:config cannot set {key!r}: use {use}" in err.message


def test_a_config_that_contradicts_another_binding_is_refused():
    err = error_of(task('{"model": "gpt-4o-mini"}', attrs='vrooli:kind="model" vrooli:model="offline/echo"'))
    assert err.element == "t"
    assert err.message == "vrooli:config sets 'model', which another binding of the task already sets to 'offline/echo'"


def test_every_config_problem_of_the_file_is_reported_at_once():
    text = model(
        '<startEvent id="s"/>'
        '<task id="a"><extensionElements><vrooli:config>[]</vrooli:config></extensionElements></task>'
        '<task id="b"><extensionElements><vrooli:config>{</vrooli:config></extensionElements></task>'
        '<endEvent id="e"/>' + chain("s", "a", "b", "e")
    )
    err = error_of(text)
    assert sorted(p.element for p in err.problems) == ["a", "b"]


def test_problems_in_a_process_that_does_not_run_are_warnings():
    text = model(
        '<startEvent id="s"/><task id="t"><extensionElements><vrooli:config>nope</vrooli:config></extensionElements></task>'
        + chain("s", "t"),
        executable=False,
    ).replace("</definitions>", '<process id="main" isExecutable="true"><startEvent id="s2"/></process></definitions>')
    graph = BpmnNavigator().load(source(text))
    assert any("vrooli:config is not valid JSON" in w.message and w.element == "t" for w in graph.warnings)


class ConfigEcho(Strategy):
    """Answers with the step's config: what a strategy plugin sees at run time."""

    name: ClassVar[str] = "config-echo"

    async def execute(self, ctx: Any) -> Any:
        return {"seen": dict(ctx.step.config)}


class ConfigEchoPlugin:
    @hookimpl
    def vrooli_register_strategies(self) -> list[type[Strategy]]:
        return [ConfigEcho]


@pytest.mark.anyio
async def test_the_strategy_executing_the_step_receives_the_config(host, store):
    host.register(ConfigEchoPlugin(), "config-echo")
    text = task(
        '{"method": "POST", "body": {"a": [1, {"b": false}]}, "expect": "2xx"}',
        attrs='vrooli:kind="api" vrooli:strategy="config-echo"',
    )
    async with Engine.open(store, host=host) as engine:
        run = await engine.run(source(text), {})
    assert run.status is RunStatus.COMPLETED
    seen: Mapping[str, Any] = run.outputs["seen"]
    assert seen["method"] == "POST" and seen["body"] == {"a": [1, {"b": False}]} and seen["expect"] == "2xx"
