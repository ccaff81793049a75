"""An MCP tool result as a JSON-compatible value, the output of a vrooli step."""

from __future__ import annotations

from typing import Any

from mcp import types

__all__ = ["result_output"]


def result_output(result: types.CallToolResult) -> Any:
    """``structuredContent`` when the server sent it (the tool declared an output schema); else one
    text item as its string; else a list with each content item converted (see :func:`content_output`)."""
    if result.structuredContent is not None:
        return result.structuredContent
    items = [content_output(c) for c in result.content]
    if len(items) == 1 and isinstance(items[0], str):
        return items[0]
    return items or None


def content_output(content: Any) -> Any:
    """Text stays a string; images, audio, links and embedded resources become their JSON form
    (``{"type": "image", "mimeType": …, "data": <base64>}``, …)."""
    if isinstance(content, types.TextContent):
        return content.text
    return content.model_dump(mode="json", by_alias=True, exclude_none=True)
