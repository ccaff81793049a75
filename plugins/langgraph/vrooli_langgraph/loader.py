"""Finding a graph from a reference: ``module:attribute``, ``path/to/file.py:attribute`` (LangGraph's
own ``langgraph.json`` convention), or a ``langgraph.json`` file (its one graph, or
``path/to/langgraph.json:name``). The attribute may be a ``StateGraph`` builder, a compiled graph, or a
function without arguments that returns one of those. Every failure is a ``RoutineError`` naming the
reference."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import json
import sys
from pathlib import Path
from typing import Any

import attrs

from vrooli_core.errors import RoutineError

__all__ = ["Found", "find_graph"]


@attrs.frozen
class Found:
    """The graph a reference names: its builder (``StateGraph``), what it was, and a hash of the
    code that defines it (the routine version changes with the code, not only with the reference)."""

    reference: str
    builder: Any
    kind: str
    code_hash: str
    #: the run configuration a compiled graph carries (``graph.with_config(recursion_limit=…)``)
    config: Any = attrs.field(factory=dict)


def find_graph(reference: str, *, base: Path | None = None) -> Found:
    """The graph ``reference`` names (relative paths are read from ``base``, else the working
    directory)."""
    ref = reference.strip()
    where = base or Path.cwd()
    if ref.startswith("{"):  # the text of a langgraph.json
        return _from_config(json.loads(ref), None, where, reference)
    target, sep, attr = ref.rpartition(":")
    if target.endswith(".json") and sep:
        return _from_json_file(where / target, attr, reference)
    if ref.endswith(".json"):
        return _from_json_file(where / ref, None, reference)
    if not sep or not target or not attr:
        raise RoutineError(
            f"{reference!r} is not a LangGraph reference: write module:attribute or path/to/file.py:attribute",
            source=reference,
        )
    module = _module(target, where, reference)
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            known = ", ".join(sorted(n for n in vars(module) if not n.startswith("_"))[:20])
            raise RoutineError(f"{target} has no attribute {attr!r} (it has: {known})", source=reference) from None
    return _graph_of(obj, reference, _code_hash(module))


def _from_json_file(path: Path, name: str | None, reference: str) -> Found:
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RoutineError(f"cannot read {path}: {exc.strerror}", source=reference) from None
    except json.JSONDecodeError as exc:
        raise RoutineError(f"{path} is not JSON: {exc.msg}", source=reference, line=exc.lineno) from None
    return _from_config(config, name, path.parent, reference)


def _from_config(config: Any, name: str | None, base: Path, reference: str) -> Found:
    graphs = config.get("graphs") if isinstance(config, dict) else None
    if not isinstance(graphs, dict) or not graphs:
        raise RoutineError("a langgraph.json needs a 'graphs' object naming at least one graph", source=reference)
    if name is None:
        if len(graphs) > 1:
            raise RoutineError(f"langgraph.json names several graphs ({', '.join(graphs)}): say which, as langgraph.json:NAME", source=reference)
        name = next(iter(graphs))
    if name not in graphs:
        raise RoutineError(f"langgraph.json has no graph {name!r} (it has: {', '.join(graphs)})", source=reference)
    target = graphs[name]
    if not isinstance(target, str):
        raise RoutineError(f"graph {name!r} of langgraph.json must be a 'path.py:attribute' string", source=reference)
    return attrs.evolve(find_graph(target, base=base), reference=reference)


def _module(target: str, base: Path, reference: str) -> Any:
    is_path = target.endswith(".py") or "/" in target or "\\" in target
    try:
        if not is_path:
            return importlib.import_module(target)
        path = (base / target).resolve()
        if not path.is_file():
            raise RoutineError(f"no such file: {path}", source=reference)
        name = "vrooli_langgraph_user_" + hashlib.sha256(str(path).encode()).hexdigest()[:16]
        known = sys.modules.get(name)
        if known is not None:
            return known
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        return module
    except RoutineError:
        raise
    except ModuleNotFoundError as exc:
        raise RoutineError(f"cannot import {target!r}: {exc}", source=reference) from None
    except Exception as exc:  # user code: whatever importing it raises is the routine's error
        raise RoutineError(f"importing {target!r} failed: {type(exc).__name__}: {exc}", source=reference) from None


def _graph_of(obj: Any, reference: str, code_hash: str) -> Found:
    from langgraph.graph import StateGraph
    from langgraph.graph.state import CompiledStateGraph

    kind = "builder"
    if inspect.isfunction(obj) and not isinstance(obj, (StateGraph, CompiledStateGraph)):
        try:
            obj = obj()
        except Exception as exc:  # user code
            raise RoutineError(f"calling {reference} to make the graph failed: {type(exc).__name__}: {exc}", source=reference) from None
        kind = "factory"
    if isinstance(obj, CompiledStateGraph):
        return Found(reference, obj.builder, "compiled" if kind == "builder" else kind, code_hash, dict(obj.config or {}))
    if isinstance(obj, StateGraph):
        return Found(reference, obj, kind, code_hash)
    raise RoutineError(
        f"{reference} is not a LangGraph graph: it is a {type(obj).__name__} (expected a StateGraph, a compiled graph, or a function returning one)",
        source=reference,
    )


def _code_hash(module: Any) -> str:
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        source = getattr(module, "__name__", "")
    return hashlib.sha256(source.encode()).hexdigest()
