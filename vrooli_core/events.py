"""The event bus: subscribers see every recorded event (and transient ones, like streamed tokens)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from vrooli_core.model import Event

log = logging.getLogger("vrooli.events")

Subscriber = Callable[[Event], None]
_Entry = tuple[Subscriber, frozenset[str] | None]


class EventBus:
    """Subscribers by run (so 10,000 runs each awaited by its own waiter stay O(1) per event) and global ones."""

    def __init__(self) -> None:
        self._all: list[_Entry] = []
        self._by_run: dict[str, list[_Entry]] = {}

    def __bool__(self) -> bool:
        return bool(self._all or self._by_run)

    def subscribe(
        self, callback: Subscriber, *, run_id: str | None = None, types: Iterable[str] | None = None
    ) -> Callable[[], None]:
        """Call ``callback`` for every event (of ``run_id``, of ``types``); returns an unsubscribe function."""
        entry: _Entry = (callback, frozenset(types) if types is not None else None)
        bucket = self._all if run_id is None else self._by_run.setdefault(run_id, [])
        bucket.append(entry)

        def unsubscribe() -> None:
            if entry in bucket:
                bucket.remove(entry)
            if run_id is not None and not bucket and self._by_run.get(run_id) is bucket:
                del self._by_run[run_id]

        return unsubscribe

    def publish(self, event: Event) -> None:
        targeted = self._by_run.get(event.run_id)
        for callback, types in (*self._all, *targeted) if targeted else tuple(self._all):
            if types is None or event.type in types:
                try:
                    callback(event)
                except Exception:  # a subscriber's bug must never break a run
                    log.exception("event subscriber %r failed on %s", callback, event.type)
