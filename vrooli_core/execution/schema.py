"""JSON schemas from Python type hints (for tool parameters and results)."""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

_SIMPLE: dict[Any, dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    type(None): {"type": "null"},
    Any: {},
    object: {},
}


def schema_for(tp: Any) -> dict[str, Any]:
    """The JSON schema of values of type ``tp`` (unknown types give ``{}``, which accepts anything)."""
    if tp in _SIMPLE:
        return dict(_SIMPLE[tp])
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Annotated:
        schema = schema_for(args[0])
        for extra in args[1:]:
            if isinstance(extra, str):
                schema["description"] = extra
        return schema
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [schema_for(a) for a in args]}
    if origin is typing.Literal:
        return {"enum": list(args)}
    if origin in (list, set, frozenset, Sequence) or tp in (list, set, frozenset):
        return {"type": "array", **({"items": schema_for(args[0])} if args else {})}
    if origin is tuple or tp is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": schema_for(args[0])}
        return {"type": "array", **({"prefixItems": [schema_for(a) for a in args]} if args else {})}
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        return {"type": "object", **({"additionalProperties": schema_for(args[1])} if args else {})}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"enum": [m.value for m in tp]}
    if isinstance(tp, type) and attrs.has(tp):
        hints = typing.get_type_hints(tp)
        return _object(
            {f.name: hints.get(f.name, Any) for f in attrs.fields(tp)},
            {f.name for f in attrs.fields(tp) if f.default is attrs.NOTHING},
        )
    if isinstance(tp, type) and typing.is_typeddict(tp):
        hints = typing.get_type_hints(tp)
        return _object(hints, set(getattr(tp, "__required_keys__", hints)))
    return {}


def _object(props: Mapping[str, Any], required: set[str]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": {k: schema_for(v) for k, v in props.items()}}
    if required:
        schema["required"] = sorted(required)
    return schema
