"""Small BPMN models written as compact text, for scenario tests."""

from __future__ import annotations

from itertools import pairwise

from vrooli_core.model import RoutineSource

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:vrooli="https://vrooli.com/schema/bpmn/1.0" '
    'xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs">\n'
)


def model(body: str, *, process: str = "p", executable: bool = True, extra: str = "") -> str:
    return f'{HEAD}{extra}<process id="{process}" isExecutable="{str(executable).lower()}">\n{body}\n</process>\n</definitions>\n'


def flow(fid: str, source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return f'<sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}"/>'
    return (
        f'<sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}">'
        f'<conditionExpression xsi:type="tFormalExpression">{condition}</conditionExpression></sequenceFlow>'
    )


def chain(*ids: str) -> str:
    """Flows a→b→c… named f_a_b."""
    return "\n".join(flow(f"f_{a}_{b}", a, b) for a, b in pairwise(ids))


def source(text: str, name: str = "m") -> RoutineSource:
    return RoutineSource(text, f"{name}.bpmn")
