"""When to try a request again, and how long to wait first."""

from __future__ import annotations

import random
import time
from datetime import UTC
from email.utils import parsedate_to_datetime

#: Statuses that say "not now" rather than "no": too many requests, and a gateway or server that is
#: down or overloaded for a moment.
RETRY_STATUSES = frozenset({429, 502, 503, 504})


def backoff_delay(retry: int, base: float, cap: float) -> float:
    """Seconds before retry number ``retry`` (0 for the first): exponential, capped, with "equal
    jitter" — at least half the step, so waits still grow, and clients that failed together spread."""
    step = min(cap, base * 2.0**retry)
    return step / 2 + random.uniform(0, step / 2)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for: delay-seconds (decimals tolerated) or an HTTP date;
    ``None`` when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:  # an HTTP date is GMT; "-0000" parses without a zone
            when = when.replace(tzinfo=UTC)
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds == float("inf"):  # NaN or infinity: unreadable
        return None
    return max(0.0, seconds)
