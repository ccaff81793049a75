"""How an activity binds to a vrooli step: ``vrooli:`` attributes and extensions, Camunda 8
(``zeebe:``) and Camunda 7 (``camunda:``) extensions, and BPMN data associations.

The result is a plain dict with these keys (each optional):

``kind``      model | tool | code | api | human | subroutine (``vrooli:kind``)
``tool``      the tool a service-like task calls (``vrooli:tool``, ``zeebe:taskDefinition type``,
              ``camunda:topic`` / ``camunda:type``)
``strategy``, ``model``, ``prompt``, ``routine``, ``version``   (``vrooli:`` attributes)
``inputs``    {parameter: source}: a variable path, or ``=FEEL`` / ``${…}`` (compiled)
``outputs``   {variable: source in the step's output}
``form``      a JSON schema of a user task's answer (``camunda:formField`` / ``vrooli:field``)
``assignee``, ``candidate_groups``, ``retries``, ``headers``, ``called``, ``called_version``
any other key   from ``<vrooli:config>``: a JSON object whose keys go into the step's config as they are
              (``output_schema``, ``system``, ``script``, ``method``, ``url``, ``body``, ``expect``, …)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from vrooli_bpmn.xml import BPMN, CAMUNDA, VROOLI, ZEEBE, bpmn_children, local, namespace, text_of

#: Binding keys the navigator reads for itself rather than passing on in the step's config, so
#: ``vrooli:config`` cannot set them (each has its own binding, named in the message).
_RESERVED = {
    "inputs": "vrooli:input",
    "outputs": "vrooli:output",
    "kind": "the vrooli:kind attribute",
    "retries": "zeebe:taskDefinition retries (step attempts)",
    "set": "camunda:outputParameter",
    "called": "calledElement",
    "called_version": "the vrooli:version attribute",
}

_FORM_TYPES = {"string": "string", "long": "integer", "integer": "integer", "boolean": "boolean", "date": "string", "enum": "string", "number": "number"}


def read_binding(el: Any, compile_text: Callable[..., Any], pid: str, problem: Callable[..., None]) -> dict[str, Any]:
    binding: dict[str, Any] = {}
    eid = el.get("id")
    for attr in ("kind", "tool", "strategy", "model", "prompt", "routine", "version"):
        value = el.get(f"{{{VROOLI}}}{attr}")
        if value is not None:
            binding[attr] = value
    for attr, key in (("assignee", "assignee"), ("candidateGroups", "candidate_groups"), ("topic", "tool"), ("type", "tool")):
        value = el.get(f"{{{CAMUNDA}}}{attr}")
        if value is not None:
            binding.setdefault(key, value.split(",") if key == "candidate_groups" else value)
    inputs: dict[str, Any] = {}
    outputs: dict[str, Any] = {}
    form: dict[str, Any] = {}
    configs: list[Any] = []
    ext = next(iter(bpmn_children(el, "extensionElements")), None)
    for item in ext.iter() if ext is not None else ():
        if not isinstance(item.tag, str) or item is ext:
            continue
        ns, name = namespace(item), local(item)
        if ns == ZEEBE:
            _zeebe(item, name, binding, inputs, outputs, compile_text, pid, eid)
        elif ns == CAMUNDA:
            _camunda(item, name, binding, inputs, outputs, form, compile_text, pid, eid, problem)
        elif ns == VROOLI:
            if name == "input":
                inputs[item.get("name")] = _source(item.get("source") or item.get("name"), compile_text, pid, eid, item)
            elif name == "output":
                outputs[item.get("name")] = item.get("source") or ""
            elif name == "field":
                _field(form, item.get("name"), item.get("type"), item.get("label"), item.get("required") == "true")
            elif name == "config":
                configs.append(item)
    _data_associations(el, inputs, outputs)
    _performers(el, binding)
    if inputs:
        binding["inputs"] = inputs
    if outputs:
        binding["outputs"] = outputs
    if form:
        binding["form"] = form
    for item in configs:  # last, so a clash with any other binding of the task is seen
        _config(item, binding, pid, eid, problem)
    return binding


def _config(item: Any, binding: dict[str, Any], pid: str, eid: str, problem: Callable[..., None]) -> None:
    """Merge a ``<vrooli:config>`` JSON object into the binding (then the step's config)."""
    raw = "".join(item.itertext())
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        # The line in the file, not in the element's text, so an editor can jump to it.
        line = (item.sourceline or 1) + raw.count("\n", 0, exc.pos)
        problem(pid, f"vrooli:config is not valid JSON: {exc.msg} (line {line}, column {exc.colno})", item, element=eid)
        return
    if not isinstance(value, dict):
        problem(pid, f"vrooli:config must be a JSON object, not {_json_type(value)}", item, element=eid)
        return
    for key, entry in value.items():
        if key in _RESERVED:
            problem(pid, f"vrooli:config cannot set {key!r}: use {_RESERVED[key]}", item, element=eid)
        elif key in binding and binding[key] != entry:
            problem(pid, f"vrooli:config sets {key!r}, which another binding of the task already sets to {binding[key]!r}", item, element=eid)
        else:
            binding[key] = entry


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def _zeebe(item: Any, name: str, binding: dict[str, Any], inputs: dict[str, Any], outputs: dict[str, Any], compile_text: Callable[..., Any], pid: str, eid: str) -> None:
    if name == "taskDefinition":
        binding.setdefault("tool", item.get("type"))
        if item.get("retries", "").isdigit():
            binding["retries"] = int(item.get("retries"))
    elif name == "input":
        inputs[item.get("target")] = _source(item.get("source"), compile_text, pid, eid, item)
    elif name == "output":
        # Zeebe outputs read the job's result: source "= total" writes variable target.
        source = (item.get("source") or "").lstrip("= ").strip()
        outputs[item.get("target")] = source
    elif name == "calledElement":
        binding["called"] = item.get("processId")
    elif name == "assignmentDefinition":
        if item.get("assignee"):
            binding["assignee"] = item.get("assignee")
        if item.get("candidateGroups"):
            binding["candidate_groups"] = [g.strip() for g in item.get("candidateGroups").split(",")]
    elif name == "header":
        binding.setdefault("headers", {})[item.get("key")] = item.get("value")


def _camunda(
    item: Any, name: str, binding: dict[str, Any], inputs: dict[str, Any], outputs: dict[str, Any], form: dict[str, Any],
    compile_text: Callable[..., Any], pid: str, eid: str, problem: Callable[..., None],
) -> None:
    if name == "formField":
        _field(form, item.get("id"), item.get("type"), item.get("label"), False)
    elif name == "inputParameter":
        inputs[item.get("name")] = _camunda_value(item, compile_text, pid, eid, problem)
    elif name == "outputParameter":
        # ``${path}`` reads the step's result; other text is a constant (set when the step completes).
        text = text_of(item)
        if [c for c in item if isinstance(c.tag, str)]:
            _camunda_value(item, compile_text, pid, eid, problem)  # reports the nested value
        elif text.startswith("${") and text.endswith("}"):
            outputs[item.get("name")] = text[2:-1]
        else:
            binding.setdefault("set", {})[item.get("name")] = text or None


class Constant:
    """A literal parameter value (a Camunda 7 parameter's text without an expression); called
    with the run's variables like a compiled expression."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __call__(self, variables: Any) -> Any:
        return self.value

    def __repr__(self) -> str:
        return f"Constant({self.value!r})"


def _camunda_value(item: Any, compile_text: Callable[..., Any], pid: str, eid: str, problem: Callable[..., None]) -> Any:
    """A Camunda 7 input parameter: ``${…}`` is an expression, other text a constant string, and an
    empty one null (as Camunda 7 reads them)."""
    nested = [c for c in item if isinstance(c.tag, str)]
    if nested:
        problem(pid, f"camunda:{local(nested[0])} parameter values are not supported (use an expression)", item, element=eid)
        return Constant(None)
    text = text_of(item)
    if "${" in text or "#{" in text:
        return compile_text(pid, text.strip(), None, eid, item.sourceline)
    return Constant(text or None)


def _source(text: str | None, compile_text: Callable[..., Any], pid: str, eid: str, item: Any) -> Any:
    text = (text or "").strip()
    if text.startswith(("=", "${")):
        return compile_text(pid, text, None, eid, item.sourceline)
    return text


def _field(form: dict[str, Any], name: str | None, type_: str | None, label: str | None, required: bool) -> None:
    if not name:
        return
    props = form.setdefault("properties", {})
    form.setdefault("type", "object")
    props[name] = {"type": _FORM_TYPES.get((type_ or "string").lower(), "string"), **({"title": label} if label else {})}
    if required:
        form.setdefault("required", []).append(name)


def _data_associations(el: Any, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
    io = next(iter(bpmn_children(el, "ioSpecification")), None)
    names = {d.get("id"): d.get("name") or d.get("id") for d in io.iter(f"{{{BPMN}}}dataInput", f"{{{BPMN}}}dataOutput")} if io is not None else {}
    for assoc in bpmn_children(el, "dataInputAssociation"):
        sources = [text_of(s) for s in bpmn_children(assoc, "sourceRef")]
        target = text_of(next(iter(bpmn_children(assoc, "targetRef")), None))
        if sources and target:
            inputs.setdefault(names.get(target, target), sources[0])
    for assoc in bpmn_children(el, "dataOutputAssociation"):
        sources = [text_of(s) for s in bpmn_children(assoc, "sourceRef")]
        target = text_of(next(iter(bpmn_children(assoc, "targetRef")), None))
        if sources and target:
            outputs.setdefault(target, names.get(sources[0], sources[0]))


def _performers(el: Any, binding: dict[str, Any]) -> None:
    for role in ("potentialOwner", "humanPerformer"):
        for performer in bpmn_children(el, role):
            expr = performer.find(f".//{{{BPMN}}}formalExpression")
            if expr is not None and text_of(expr):
                binding.setdefault("assignee" if role == "humanPerformer" else "candidate_groups", text_of(expr) if role == "humanPerformer" else [text_of(expr)])
