"""Shared pieces of the BPMN cases: the generated models, a plugin host with the BPMN navigator, and
loading a model into an engine.

The models are plain BPMN 2.0 XML and are the very bytes both engines parse: vrooli (through the
``vrooli-bpmn`` navigator) and, side by side, SpiffWorkflow (``bench.bpmn_peers``). Script tasks are
Python (``scriptFormat="python"``); vrooli runs them through the plugin's ``bpmn-script`` strategy,
SpiffWorkflow through its own script engine.

- :func:`chain_xml`: ``start → t0 → t1 → … → t{n-1} → end``. With ``kind="script"`` the first task
  runs ``x = 1`` and every other ``x = x + 1`` (so a completed run ends with ``x == n``); with
  ``kind="noop"`` the tasks are plain ``<task>`` elements, which complete at once.
- :func:`fork_xml`: ``start → fork (parallel gateway) → b0 … b{n-1} → join (parallel gateway) → end``;
  branch ``bi`` is a script task ``v_i = i`` (or a ``<task>``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from vrooli_core import Engine, PluginHost
from vrooli_core.model import RoutineDef, RoutineSource

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
#: The process id of every generated model.
PROCESS = "bench"

# -- models ------------------------------------------------------------------------------------


def _document(elements: list[str]) -> str:
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<definitions xmlns="{BPMN_NS}" id="bench-defs" targetNamespace="https://vrooli.com/bench">',
            f'<process id="{PROCESS}" isExecutable="true">',
            *elements,
            "</process>",
            "</definitions>",
            "",
        ]
    )


def _flow(fid: str, source: str, target: str) -> str:
    return f'<sequenceFlow id="{fid}" sourceRef="{source}" targetRef="{target}"/>'


def _activity(tid: str, kind: str, script: str) -> str:
    if kind == "script":
        return f'<scriptTask id="{tid}" scriptFormat="python"><script>{script}</script></scriptTask>'
    if kind == "noop":
        return f'<task id="{tid}"/>'
    raise ValueError(f"unknown task kind {kind!r} (script or noop)")


def chain_xml(n: int, kind: str = "script") -> str:
    """``start → t0 → … → t{n-1} → end`` (n tasks; n + 2 flow nodes)."""
    parts = ['<startEvent id="start"/>']
    previous = "start"
    for i in range(n):
        tid = f"t{i}"
        parts.append(_activity(tid, kind, "x = 1" if i == 0 else "x = x + 1"))
        parts.append(_flow(f"f{i}", previous, tid))
        previous = tid
    parts.append('<endEvent id="end"/>')
    parts.append(_flow("f_end", previous, "end"))
    return _document(parts)


def fork_xml(n: int, kind: str = "script") -> str:
    """``start → fork → b0 … b{n-1} → join → end`` with parallel gateways (n tasks; n + 4 flow nodes)."""
    parts = [
        '<startEvent id="start"/>',
        '<parallelGateway id="fork"/>',
        '<parallelGateway id="join"/>',
        '<endEvent id="end"/>',
        _flow("f_start", "start", "fork"),
        _flow("f_end", "join", "end"),
    ]
    for i in range(n):
        bid = f"b{i}"
        parts.append(_activity(bid, kind, f"v_{i} = {i}"))
        parts.append(_flow(f"fa{i}", "fork", bid))
        parts.append(_flow(f"fb{i}", bid, "join"))
    return _document(parts)


def model_xml(shape: str, n: int, kind: str = "script") -> str:
    if shape == "chain":
        return chain_xml(n, kind)
    if shape == "fork":
        return fork_xml(n, kind)
    raise ValueError(f"unknown model shape {shape!r} (chain or fork)")


def check_variables(shape: str, n: int, kind: str, variables: Any) -> bool:
    """Whether a completed run's variables are what the scripts computed (always true for no-op tasks)."""
    if kind != "script":
        return True
    if not isinstance(variables, dict):
        return False
    if shape == "chain":
        return variables.get("x") == n
    return all(variables.get(f"v_{i}") == i for i in range(n))


# -- engine ------------------------------------------------------------------------------------


def scripts_available() -> bool:
    """Whether the BPMN plugin can run Python script tasks (its script module is installed)."""
    import importlib.util

    try:
        return importlib.util.find_spec("vrooli_bpmn.scripts") is not None
    except ImportError:
        return False


def make_host() -> PluginHost:
    """A plugin host with the builtins and the BPMN plugin only (no other installed plugins)."""
    import vrooli_bpmn.plugin  # type: ignore[import-untyped]

    host = PluginHost.create(load_entrypoints=False)
    host.register(vrooli_bpmn.plugin, "bpmn")
    return host


@contextlib.asynccontextmanager
async def open_engine(store: str = "memory://", **kwargs: Any) -> AsyncIterator[Engine]:
    async with Engine.open(store, host=make_host(), **kwargs) as engine:
        yield engine


def source(text: str, name: str = "bench") -> RoutineSource:
    return RoutineSource(text, f"{name}.bpmn")


async def load(engine: Engine, text: str) -> tuple[RoutineDef, float]:
    """Register a model (parse, compile, validate, store); returns the routine and the seconds it took."""
    t0 = time.perf_counter()
    routine = await engine.load(source(text))
    return routine, time.perf_counter() - t0
