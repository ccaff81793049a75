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
    from vrooli_core.engine.engine import _as_source

    return _as_source(path, None)


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
    "C.6.0": "compensation events are not supported yet",
    "C.9.0": "event subprocesses are not supported yet",
    "C.9.2": "event subprocesses are not supported yet",
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
