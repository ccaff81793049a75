"""Clocks. Timers, limits and retries read the engine's clock, so tests advance time instead of sleeping."""

from __future__ import annotations

import time
from typing import Protocol

import anyio


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""


class SystemClock:
    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


class FakeClock:
    """A clock that moves only when told to. ``sleep`` returns when the clock has been advanced past
    its deadline (the engine's ``advance_clock`` fires due timers itself)."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._moved = anyio.Event()

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._now += seconds
        self._moved.set()
        self._moved = anyio.Event()
        return self._now

    async def sleep(self, seconds: float) -> None:
        deadline = self._now + seconds
        while self._now < deadline:
            await self._moved.wait()
