"""Tools: JSON schemas from type hints, argument validation, calling conventions."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal, TypedDict

import anyio
import attrs
import pytest

from vrooli_core import tool
from vrooli_core.errors import ToolInputError
from vrooli_core.execution.schema import schema_for


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@attrs.frozen
class Point:
    x: int
    y: int = 0


class Movie(TypedDict):
    title: str
    year: int


@pytest.mark.parametrize(
    ("hint", "schema"),
    [
        (str, {"type": "string"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (None, {"type": "null"}),
        (Any, {}),
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (tuple[str, ...], {"type": "array", "items": {"type": "string"}}),
        (tuple[str, int], {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}]}),
        (dict[str, float], {"type": "object", "additionalProperties": {"type": "number"}}),
        (int | None, {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
        (Literal["a", "b"], {"enum": ["a", "b"]}),
        (Color, {"enum": ["red", "blue"]}),
        (Annotated[str, "a city"], {"type": "string", "description": "a city"}),
        (Point, {"type": "object", "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}}, "required": ["x"]}),
        (Movie, {"type": "object", "properties": {"title": {"type": "string"}, "year": {"type": "integer"}}, "required": ["title", "year"]}),
    ],
)
def test_schema_from_type_hints(hint, schema):
    assert schema_for(type(None) if hint is None else hint) == schema


def test_tool_spec_from_a_function():
    @tool(description="Find flights.", side_effects=True)
    def search(origin: str, when: Annotated[str, "ISO date"], seats: int = 1, ctx=None) -> list[str]:
        return []

    spec = search.__vrooli_tool__
    assert spec.name == "search" and spec.description == "Find flights." and spec.side_effects
    assert spec.parameters == {
        "type": "object",
        "properties": {
            "origin": {"type": "string"},
            "when": {"type": "string", "description": "ISO date"},
            "seats": {"type": "integer", "default": 1},
        },
        "additionalProperties": False,
        "required": ["origin", "when"],
    }
    assert spec.returns == {"type": "array", "items": {"type": "string"}}


def test_invalid_arguments_list_every_problem():
    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    spec = add.__vrooli_tool__
    assert spec.description == "Add two numbers."
    with pytest.raises(ToolInputError) as err:
        spec.validate({"a": "1", "c": 2})
    message = str(err.value)
    assert message.startswith("tool 'add' got invalid arguments:")
    assert "'b' is a required property" in message and "'1' is not of type 'integer'" in message and "'c' was unexpected" in message
    with pytest.raises(ToolInputError, match="arguments must be an object"):
        spec.validate([1, 2])


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_sync_async_and_blocking_tools_are_called(anyio_backend):
    import threading

    main = threading.get_ident()
    seen = {}

    @tool
    def plain(x: int) -> int:
        seen["plain"] = threading.get_ident()
        return x + 1

    @tool(blocking=True)
    def blocking(x: int) -> int:
        seen["blocking"] = threading.get_ident()
        return x + 2

    @tool
    async def coro(x: int, ctx=None) -> int:
        await anyio.sleep(0)
        return x + ctx

    assert await plain.__vrooli_tool__.call({"x": 1}) == 2
    assert await blocking.__vrooli_tool__.call({"x": 1}) == 3
    assert await coro.__vrooli_tool__.call({"x": 1}, ctx=10) == 11
    assert seen["plain"] == main and seen["blocking"] != main
