"""Fuzzing the loader: mutated valid models give our typed errors (or load), never anything else, never a hang."""

from __future__ import annotations

import os
from pathlib import Path

from bpmn_builder import chain, flow, model, source
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vrooli_bpmn.navigator import BpmnNavigator, BpmnTestNavigator

from vrooli_core.errors import RoutineError

SEEDS = [
    model(
        '<startEvent id="s"/><exclusiveGateway id="g" default="fb"/><serviceTask id="a" vrooli:tool="t"/>'
        '<userTask id="b"/><boundaryEvent id="late" attachedToRef="b"><timerEventDefinition><timeDuration>PT1H</timeDuration>'
        '</timerEventDefinition></boundaryEvent><parallelGateway id="j"/><endEvent id="e"/><endEvent id="e2"/>'
        + flow("f0", "s", "g") + flow("fa", "g", "a", "= x &gt; 3") + flow("fb", "g", "b")
        + flow("ja", "a", "j") + flow("jb", "b", "j") + chain("j", "e") + chain("late", "e2")
    ),
    model(
        '<startEvent id="s"/><subProcess id="sub"><startEvent id="ss"/><scriptTask id="sc" scriptFormat="python">'
        '<script>x = x + 1</script></scriptTask><endEvent id="se"><errorEventDefinition errorRef="err"/></endEvent>'
        + chain("ss", "sc", "se") + '</subProcess><boundaryEvent id="b" attachedToRef="sub"><errorEventDefinition/>'
        '</boundaryEvent><endEvent id="e"/>' + chain("s", "sub", "e") + flow("fb", "b", "e"),
        extra='<error id="err" errorCode="E1"/>',
    ),
]
_MIWG = Path(os.environ.get("VROOLI_CONFORMANCE_DIR") or Path(__file__).resolve().parents[4] / "shared" / "conformance") / "bpmn" / "miwg"
if (_MIWG / "A.2.1.bpmn").is_file():
    SEEDS.append((_MIWG / "A.2.1.bpmn").read_bytes().decode("latin-1"))


@st.composite
def tree_mutated(draw: st.DrawFn) -> str:
    """Well-formed XML, wrong model: elements dropped or duplicated, references rewired, attributes removed."""
    from lxml import etree

    seed = draw(st.sampled_from(SEEDS))
    root = etree.fromstring(seed.encode("latin-1", "replace") if seed.startswith("<?xml version=\"1.0\" encoding=\"ISO") else seed.encode())
    elements = [el for el in root.iter() if isinstance(el.tag, str) and el is not root]
    ids = [el.get("id") for el in elements if el.get("id")] + ["ghost", ""]
    for _ in range(draw(st.integers(1, 3))):
        el = draw(st.sampled_from(elements))
        action = draw(st.sampled_from(["drop", "duplicate", "rewire", "strip", "retag"]))
        parent = el.getparent()
        if action == "drop" and parent is not None:
            parent.remove(el)
            elements = [e for e in root.iter() if isinstance(e.tag, str) and e is not root]
        elif action == "duplicate" and parent is not None:
            parent.append(etree.fromstring(etree.tostring(el)))
        elif action == "rewire":
            attr = draw(st.sampled_from(["sourceRef", "targetRef", "attachedToRef", "default", "errorRef", "calledElement", "id"]))
            el.set(attr, draw(st.sampled_from(ids)))
        elif action == "strip" and el.attrib:
            del el.attrib[draw(st.sampled_from(sorted(el.attrib)))]
        elif action == "retag":
            el.tag = "{http://www.omg.org/spec/BPMN/20100524/MODEL}" + draw(
                st.sampled_from(["task", "complexGateway", "boundaryEvent", "subProcess", "timerEventDefinition", "frobnicate", "exclusiveGateway"])
            )
        if not elements:
            break
    return etree.tostring(root, encoding="unicode")


@st.composite
def mutated(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return draw(tree_mutated())
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            break
        start = draw(st.integers(0, len(text) - 1))
        end = min(len(text), start + draw(st.integers(0, 40)))
        action = draw(st.sampled_from(["delete", "duplicate", "replace", "insert"]))
        if action == "delete":
            text = text[:start] + text[end:]
        elif action == "duplicate":
            text = text[:end] + text[start:end] + text[end:]
        else:
            junk = draw(st.sampled_from(['"', "<", ">", "/>", "</task>", 'id="s"', "&amp;", "&#0;", "x", "=", "${", "<task id='zz'/>", "", "\x00"]))
            text = text[:start] + junk + (text[end:] if action == "replace" else text[start:])
    return text


@settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_models_raise_only_routine_errors(text):
    for navigator in (BpmnNavigator, BpmnTestNavigator):
        try:
            navigator().load(source(text))
        except RoutineError:
            pass
