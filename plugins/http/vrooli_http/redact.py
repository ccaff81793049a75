"""Keeps secret values out of everything a step hands back: outputs, echoed headers, error texts."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"


class Redactor:
    """Replaces every known secret value — and its URL-encoded forms, which is how a URL or a form
    carries it — with ``***``, in text and in JSON-like structures (keys too)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._needles: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        found = set(self._needles)
        for secret in secrets:
            if secret:
                found.update(_spellings(secret))
        # Longest first, so a secret containing another is masked whole.
        self._needles = sorted(found, key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._needles)

    def text(self, text: str) -> str:
        for needle in self._needles:
            if needle in text:
                text = text.replace(needle, MASK)
        return text

    def value(self, value: Any) -> Any:
        """A copy of ``value`` with secrets masked in every string (and in numbers that spell one)."""
        if not self._needles:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        if isinstance(value, int | float) and not isinstance(value, bool):
            shown = str(value)
            masked = self.text(shown)
            return value if masked == shown else masked
        return value


def _spellings(secret: str) -> set[str]:
    """The ways a value shows up in text: as is, URL-encoded (a path, a query, a form), and escaped
    as error messages quote it (``repr`` of the text or of its bytes, JSON)."""
    return {
        secret,
        quote(secret, safe=""),
        quote_plus(secret),
        quote(secret),
        repr(secret)[1:-1],
        repr(secret.encode())[2:-1],
        json.dumps(secret)[1:-1],
    } - {""}
