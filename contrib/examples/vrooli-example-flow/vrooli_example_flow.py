"""A one-file vrooli plugin: the ``flow`` routine format plus a few small, deterministic tools.

Installed, it is found through its entry point (group ``vrooli``, name ``example-flow``) and lets
``vrooli run hello.flow.toml --input name=Ada`` run without any other plugin. It is also the
smallest complete picture of a plugin: a module with ``@hookimpl`` functions, each returning the
capabilities it adds.

Plugin modules are imported every time a host starts (even for ``vrooli --help``), so they import
only cheap things at module level; the navigator is imported inside its hook.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from vrooli_core import tool
from vrooli_core.plugins import hookimpl

__all__ = [
    "add",
    "append",
    "greet",
    "initials",
    "join_words",
    "multiply",
    "shout",
    "summarise",
    "vrooli_register_navigators",
    "vrooli_register_tools",
    "word_count",
]

# Words may contain apostrophes (straight or typographic) and hyphens: "don't", "well-known".
_WORD = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


# -- tools ---------------------------------------------------------------------------------------


@tool
def greet(name: str, salutation: str = "Hello") -> dict[str, str]:
    """Greet someone by name."""
    return {"greeting": f"{salutation}, {name.strip()}!"}


@tool
def word_count(text: str) -> dict[str, int]:
    """Count the words, sentences and characters of a text."""
    sentences = [s for s in _SENTENCE_END.split(text.strip()) if s]
    return {"words": len(_WORD.findall(text)), "sentences": len(sentences), "characters": len(text)}


@tool
def shout(text: str) -> dict[str, str]:
    """The text in capitals."""
    return {"text": text.upper()}


@tool
def summarise(text: str, max_words: int = 12) -> dict[str, str]:
    """A deterministic extractive summary: the first sentence, cut to ``max_words`` words."""
    if max_words < 1:
        raise ValueError("max_words must be at least 1")
    first = _SENTENCE_END.split(text.strip(), maxsplit=1)[0]
    words = first.split()
    summary = " ".join(words[:max_words]) + ("…" if len(words) > max_words else "")
    return {"summary": summary}


@tool
def initials(name: str) -> dict[str, str]:
    """The initials of a name: ``Ada Lovelace`` → ``A. L.``."""
    return {"initials": " ".join(f"{word[0].upper()}." for word in _WORD.findall(name))}


@tool
def add(a: float, b: float) -> dict[str, float]:
    """a + b."""
    return {"result": a + b}


@tool
def multiply(a: float, b: float) -> dict[str, float]:
    """a * b."""
    return {"result": a * b}


@tool
def append(items: list[Any], item: Any) -> dict[str, list[Any]]:
    """A new list: ``items`` followed by ``item`` (the input list is not changed)."""
    return {"items": [*items, item]}


@tool
def join_words(words: list[str], separator: str = " ") -> dict[str, str]:
    """Join words into one text."""
    return {"text": separator.join(str(w) for w in words)}


_TOOLS = (greet, word_count, shout, summarise, initials, add, multiply, append, join_words)


# -- hooks ---------------------------------------------------------------------------------------


@hookimpl
def vrooli_register_navigators() -> Iterable[type]:
    from vrooli_core.testing.flow import FlowNavigator  # imported on demand: parsing code is not free

    return [FlowNavigator]


@hookimpl
def vrooli_register_tools() -> Iterable[Any]:
    return list(_TOOLS)
