"""Tools: Python callables (and later APIs) that steps and models may call, with JSON schemas."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any, overload

import anyio.to_thread
import attrs

from vrooli_core.errors import ToolInputError
from vrooli_core.execution.schema import schema_for

__all__ = ["ToolSpec", "tool"]


@attrs.frozen
class ToolSpec:
    """A callable tool: its name, description, parameter schema and how to call it."""

    name: str
    fn: Callable[..., Any]
    description: str = ""
    parameters: Mapping[str, Any] = attrs.field(factory=lambda: {"type": "object", "properties": {}})
    returns: Mapping[str, Any] = attrs.field(factory=dict)
    #: Run a synchronous function in a worker thread (it blocks: I/O, heavy CPU).
    blocking: bool = False
    #: Whether calling it twice with the same idempotency key is safe to skip (it has side effects).
    side_effects: bool = False

    @cached_property
    def _is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.fn)

    @cached_property
    def _validator(self) -> Any:
        from jsonschema.validators import validator_for

        cls = validator_for(self.parameters)
        return cls(self.parameters)

    @cached_property
    def _wants_context(self) -> bool:
        return "ctx" in inspect.signature(self.fn).parameters

    def validate(self, arguments: Mapping[str, Any]) -> None:
        """Raise :class:`ToolInputError` listing every problem with ``arguments``."""
        if not isinstance(arguments, Mapping):
            raise ToolInputError(self.name, [f"arguments must be an object, got {type(arguments).__name__}"])
        validator = self._validator
        if validator.is_valid(arguments):
            return
        problems = []
        for err in sorted(validator.iter_errors(arguments), key=lambda e: list(e.path)):
            where = ".".join(str(p) for p in err.path)
            problems.append(f"{where}: {err.message}" if where else err.message)
        raise ToolInputError(self.name, problems)

    async def call(self, arguments: Mapping[str, Any], ctx: Any = None) -> Any:
        """Validate ``arguments`` and call the tool."""
        self.validate(arguments)
        kwargs = dict(arguments)
        if self._wants_context:
            kwargs["ctx"] = ctx
        if self._is_async:
            return await self.fn(**kwargs)
        if self.blocking:
            return await anyio.to_thread.run_sync(lambda: self.fn(**kwargs))
        return self.fn(**kwargs)


@overload
def tool(fn: Callable[..., Any], /) -> Callable[..., Any]: ...
@overload
def tool(
    *, name: str | None = None, description: str | None = None, blocking: bool = False, side_effects: bool = False
) -> Callable[[Callable[..., Any]], Callable[..., Any]]: ...
def tool(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    blocking: bool = False,
    side_effects: bool = False,
) -> Any:
    """Make a function a tool. Its parameter schema comes from its type hints, its description from
    its docstring; a parameter named ``ctx`` receives the step context and is not part of the schema.
    The function itself is returned unchanged, with the spec in ``__vrooli_tool__``."""

    def wrap(f: Callable[..., Any]) -> Callable[..., Any]:
        f.__vrooli_tool__ = ToolSpec(  # type: ignore[attr-defined]
            name=name or f.__name__,
            fn=f,
            description=description if description is not None else inspect.getdoc(f) or "",
            parameters=_parameters(f),
            returns=schema_for(typing.get_type_hints(f).get("return", Any)),
            blocking=blocking,
            side_effects=side_effects,
        )
        return f

    return wrap(fn) if fn is not None else wrap


def _parameters(fn: Callable[..., Any]) -> dict[str, Any]:
    hints = typing.get_type_hints(fn, include_extras=True)
    props: dict[str, Any] = {}
    required: list[str] = []
    for pname, param in inspect.signature(fn).parameters.items():
        if pname == "ctx" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        schema = schema_for(hints.get(pname, Any))
        if param.default is param.empty:
            required.append(pname)
        elif _jsonable(param.default):
            schema["default"] = param.default
        props[pname] = schema
    schema: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


def _jsonable(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool, list, dict))
