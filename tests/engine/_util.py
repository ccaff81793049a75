"""Helpers for the engine tests."""

from __future__ import annotations

from typing import Any

from vrooli_core.model import Event, RoutineSource


def flow(text: str, name: str = "t") -> RoutineSource:
    return RoutineSource(text, f"{name}.flow.toml")


def types(events: list[Event]) -> list[str]:
    return [e.type for e in events]


def payloads(events: list[Event], type_: str) -> list[Any]:
    return [e.payload for e in events if e.type == type_]
