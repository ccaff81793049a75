"""Loading: hardened XML, typed errors with element and line, every unsupported construct reported."""

from __future__ import annotations

import time

import pytest
from bpmn_builder import HEAD, chain, flow, model, source
from vrooli_bpmn.navigator import BpmnNavigator, BpmnTestNavigator

from vrooli_core import Engine
from vrooli_core.errors import RoutineError
from vrooli_core.model import RoutineSource, RunStatus


def load(text: str, nav: type = BpmnNavigator):
    return nav().load(source(text))


def error_of(text: str) -> RoutineError:
    with pytest.raises(RoutineError) as err:
        load(text)
    return err.value


def test_malformed_xml_names_the_line():
    err = error_of(model('<startEvent id="s">\n<task id="t"/>'))
    assert "malformed XML" in err.message and err.line is not None


def test_doctype_and_entities_are_refused_before_parsing():
    laughs = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>\n'
        '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol2;</definitions>'
    )
    err = error_of(laughs)
    assert "DOCTYPE and ENTITY declarations are refused" in err.message and err.line == 2
    xxe = '<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><definitions/>'
    assert "refused" in error_of(xxe).message


def test_not_bpmn():
    err = error_of('<?xml version="1.0"?><root/>')
    assert "not a BPMN 2.0 file" in err.message


def test_duplicate_ids_dangling_flows_and_gateways_without_exits_are_all_reported():
    text = model(
        '<startEvent id="s"/><task id="t"/><task id="t"/><exclusiveGateway id="g"/>'
        + flow("f1", "s", "t") + flow("f2", "t", "nowhere") + flow("f3", "t", "g")
    )
    err = error_of(text)
    messages = "\n".join(str(p) for p in err.problems)
    assert "element 't': duplicate id (first at line" in messages
    assert "element 'f2': sequence flow targetRef 'nowhere' names no flow node" in messages
    assert "element 'g': gateway has no outgoing sequence flow" in messages
    assert all(p.line for p in err.problems)


def test_unknown_and_unsupported_elements_are_reported_by_name_and_line():
    text = model('<startEvent id="s"/><complexGateway id="cx"/><choreographyTask id="ch"/>' + chain("s", "cx"))
    err = error_of(text)
    text_ = str(err)
    assert "complex gateways are not supported" in text_ and "unsupported element <choreographyTask>" in text_


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ('<adHocSubProcess id="ah" ordering="Random"/>', "unknown ad-hoc ordering 'Random'"),
        ('<adHocSubProcess id="ah"><extensionElements><zeebe:adHoc outputCollection="x"/></extensionElements></adHocSubProcess>', "zeebe:adHoc outputCollection is not supported"),
        ('<subProcess id="es" triggeredByEvent="true"/>', "an event subprocess needs exactly one start event, with a trigger"),
        ('<endEvent id="c"><cancelEventDefinition/></endEvent>', "a cancel end event must be directly inside a transaction"),
        ('<transaction id="tx"><endEvent id="c"><cancelEventDefinition/></endEvent></transaction>', "has a cancel end event but no cancel boundary event"),
        ('<task id="t"/><boundaryEvent id="c" attachedToRef="t"><cancelEventDefinition/></boundaryEvent>', "only be attached to a transaction"),
        ('<intermediateCatchEvent id="c"><compensateEventDefinition/></intermediateCatchEvent>', "compensation is caught only by boundary events"),
        ('<task id="t"/><boundaryEvent id="c" attachedToRef="t"><compensateEventDefinition/></boundaryEvent>', "has no association to a handler"),
        ('<intermediateThrowEvent id="c"><compensateEventDefinition activityRef="nope"/></intermediateThrowEvent>', "activityRef 'nope' names no activity"),
        ('<subProcess id="sp"><task id="t"/></subProcess><intermediateThrowEvent id="c"><compensateEventDefinition activityRef="t"/></intermediateThrowEvent>', "is not in the scope"),
        ('<task id="h" isForCompensation="true"/><endEvent id="e"/><sequenceFlow id="f" sourceRef="h" targetRef="e"/>', "a compensation handler has no sequence flows"),
    ],
)
def test_constructs_not_supported_or_invalid_are_refused_at_load(body, reason):
    err = error_of(model('<startEvent id="s"/>' + body))
    assert reason in str(err)


def test_unknown_event_definition():
    err = error_of(model('<startEvent id="s"><fancyEventDefinition/></startEvent>'))
    assert "unsupported element" in str(err) or "unsupported event definition" in str(err)


def test_bad_references_name_the_event():
    text = model('<startEvent id="s"><messageEventDefinition messageRef="nope"/></startEvent>')
    err = error_of(text)
    assert "messageRef 'nope' does not name a <message>" in str(err) and err.element == "s"


def test_non_executable_processes_are_refused_unless_in_test_mode():
    text = model('<startEvent id="s"/><task id="t"/><endEvent id="e"/>' + chain("s", "t", "e"), executable=False)
    err = error_of(text)
    assert 'isExecutable="false"' in err.message and "test mode" in err.message
    graph = load(text, BpmnTestNavigator)
    assert "t" in graph.steps


def test_problems_in_a_process_that_never_runs_are_warnings():
    text = model('<startEvent id="s"/><endEvent id="e"/>' + chain("s", "e")).replace(
        "</definitions>", '<process id="other" isExecutable="false"><complexGateway id="cx"/></process></definitions>'
    )
    graph = load(text)
    assert any("complex gateways" in w.message for w in graph.warnings)


def test_iso_8859_1_files_keep_their_characters(tmp_path):
    text = model('<startEvent id="s" name="Départ"/><endEvent id="e"/>' + chain("s", "e")).replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
    path = tmp_path / "latin.bpmn"
    path.write_bytes(text.encode("latin-1"))
    from vrooli_core.engine import read_source

    defs = BpmnNavigator().load(read_source(path, None)).data.defs
    assert defs.processes["p"].nodes["s"].name == "Départ"


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_100000_node_chain_parses_and_runs(anyio_backend, host, store):
    n = 100_000
    body = ['<startEvent id="n0"/>']
    body += [f'<task id="n{i}"/>' for i in range(1, n)]
    body += [f'<sequenceFlow id="f{i}" sourceRef="n{i}" targetRef="n{i + 1}"/>' for i in range(n - 1)]
    text = HEAD + '<process id="long" isExecutable="true">' + "".join(body) + "</process></definitions>"
    async with Engine.open(store.replace("?verify=1", ""), host=host) as engine:
        started = time.perf_counter()
        routine = await engine.load(RoutineSource(text, "long.bpmn"))
        run = await engine.run(routine)
        elapsed = time.perf_counter() - started
    assert run.status is RunStatus.COMPLETED and run.steps == n - 1
    assert elapsed < 120  # a guard against a hang, not a speed target (bench/ measures speed)
