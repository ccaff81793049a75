"""The event bus: subscribers see every recorded event (and transient ones, like streamed tokens)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from vrooli_core.model import Event

log = logging.getLogger("vrooli.events")

Subscriber = Callable[[Event], None]


class EventBus:
    def __init__(self) -> None:
        self._subs: list[tuple[Subscriber, str | None, frozenset[str] | None]] = []

    def __bool__(self) -> bool:
        return bool(self._subs)

    def subscribe(
        self, callback: Subscriber, *, run_id: str | None = None, types: Iterable[str] | None = None
    ) -> Callable[[], None]:
        """Call ``callback`` for every event (of ``run_id``, of ``types``); returns an unsubscribe function."""
        entry = (callback, run_id, frozenset(types) if types is not None else None)
        self._subs.append(entry)
        return lambda: self._subs.remove(entry) if entry in self._subs else None

    def publish(self, event: Event) -> None:
        for callback, run_id, types in tuple(self._subs):
            if (run_id is None or event.run_id == run_id) and (types is None or event.type in types):
                try:
                    callback(event)
                except Exception:  # a subscriber's bug must never break a run
                    log.exception("event subscriber %r failed on %s", callback, event.type)
