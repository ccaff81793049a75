"""What a BPMN file contains: a census of model elements and diagram parts (for checks and pictures)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from vrooli_bpmn.xml import BPMN, BPMNDI, local, namespace, parse_xml
from vrooli_core.model import RoutineSource

#: Reference and text children that are not elements of their own in the census.
_NOT_COUNTED = {
    "incoming", "outgoing", "flowNodeRef", "documentation", "extensionElements", "text", "conditionExpression",
    "sourceRef", "targetRef", "dataInputRefs", "dataOutputRefs", "inputSet", "outputSet", "definitions",
}


def element_counts(source: RoutineSource) -> Counter[str]:
    """Elements of the BPMN model namespace by name, outside ``extensionElements`` (vendor content that
    inherits the default namespace is not model content)."""
    return _census(parse_xml(source))


def di_counts(source: RoutineSource) -> tuple[int, int, int]:
    """(diagrams, shapes, edges) of the BPMN DI namespace."""
    root = parse_xml(source)
    count = Counter(local(el) for el in root.iter() if isinstance(el.tag, str) and namespace(el) == BPMNDI)
    return count["BPMNDiagram"], count["BPMNShape"], count["BPMNEdge"]


def _census(root: Any) -> Counter[str]:
    counts: Counter[str] = Counter()
    pending = [root]
    while pending:  # iterative: deep files cost no recursion
        el = pending.pop()
        for child in el:
            if not isinstance(child.tag, str) or namespace(child) != BPMN:
                continue
            name = local(child)
            if name == "extensionElements":
                continue
            if name not in _NOT_COUNTED:
                counts[name] += 1
            pending.append(child)
    return counts
