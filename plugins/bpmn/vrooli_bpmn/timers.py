"""BPMN timers (``timeDate``, ``timeDuration``, ``timeCycle``) computed on the engine's clock.

Nothing here reads the wall clock: :meth:`CompiledTimer.first_due` takes ``now`` (epoch seconds)
from the engine, so timers are deterministic and testable with a fake clock. Due times are epoch
seconds (floats).

Supported texts (ISO 8601 via isodate, cron via croniter):

- ``date``: a date-time with a zone (``2026-01-01T09:00:00Z``, ``…+02:00``), without one (read as
  UTC), with a zone id (``2026-01-01T09:00:00[Europe/Berlin]``), or a date (``1993-06-26``,
  midnight UTC). It is due at that instant, even if it is in the past (the engine fires it at once).
- ``duration``: ``PT1M``, ``P1DT2H``, ``P1M`` (calendar months, added in UTC); due ``now`` plus it.
  Negative durations are refused.
- ``cycle``: ``R3/PT10H`` (3 firings, the first one interval after ``now``), ``R/PT1M``
  (unbounded), ``R2/2026-01-01T00:00:00Z/P1D`` (from a start: due at the start if it is still
  ahead; if it has passed, at the first ``start + k·interval`` not before ``now``, and the missed
  occurrences are skipped, not counted), and cron: 5 fields (``*/5 * * * *``), 6 fields with
  seconds first as Zeebe and Spring write them (``0 0 9 * * MON-FRI``), 7 with a year (Quartz),
  ``?``, ``L``, ``#`` and macros such as ``@daily``; cron is evaluated in UTC and never runs out.
  A cycle's interval must be positive.
- any of these as an expression resolved when the timer is armed: ``${…}`` or ``=…`` (see
  :func:`vrooli_bpmn.expressions.compile_expression`). An expression may also return a
  ``datetime``/``date`` (for a date) or a ``timedelta``/``isodate.Duration`` (for a duration).

Not supported: ISO intervals with an end (``R/start/end``, ``R/PT1H/end``), time zones for cron
(UTC only), and Zeebe's FEEL ``cycle()`` function. A literal that does not parse is an
:class:`~vrooli_core.errors.ExpressionError` at load time; an expression's result that does not
parse is one when the timer is armed (``first_due``). Both name the element and line.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import isodate  # type: ignore[import-untyped]
from croniter import CroniterBadDateError, croniter  # type: ignore[import-untyped]

from vrooli_bpmn.expressions import CompiledExpression, compile_expression
from vrooli_core.errors import ExpressionError

__all__ = ["CompiledTimer", "compile_timer"]

TimerKind = Literal["date", "duration", "cycle"]
Delta = Any  # datetime.timedelta, or isodate.Duration when years or months are involved
_MAX_CATCH_UP = 100_000  # steps when aligning a calendar-month cycle whose start has passed


@attrs.frozen
class _At:
    epoch: float


@attrs.frozen
class _After:
    delta: Delta


@attrs.frozen
class _Repeat:
    count: int | None
    delta: Delta
    start: float | None


@attrs.frozen
class _Cron:
    expression: str
    seconds_first: bool


_Spec = _At | _After | _Repeat | _Cron


@attrs.frozen
class CompiledTimer:
    """A timer definition; ``kind`` is ``"date"``, ``"duration"`` or ``"cycle"``."""

    kind: str
    text: str
    element: str | None = None
    line: int | None = None
    _spec: _Spec | None = attrs.field(default=None, repr=False, alias="spec")
    _expression: CompiledExpression | None = attrs.field(default=None, repr=False, eq=False, alias="expression")

    def first_due(self, now: float, variables: Any) -> float:
        """When the timer first fires if it is armed at ``now`` (epoch seconds)."""
        spec = self._resolve(variables)
        if isinstance(spec, _At):
            return spec.epoch
        if isinstance(spec, _After):
            return self._add(now, spec.delta)
        if isinstance(spec, _Repeat):
            if spec.start is None:
                return self._add(now, spec.delta)
            return self._catch_up(spec.start, spec.delta, now)
        due = self._cron_next(spec, now)
        if due is None:
            raise self._error(f"cron expression {spec.expression!r} never fires")
        return due

    def next_due(self, previous_due: float, fired: int, variables: Any) -> float | None:
        """For a cycle, when it fires next after ``fired`` firings, the last one due at
        ``previous_due``; ``None`` once its repetitions are used up. Date and duration: ``None``."""
        if self.kind != "cycle":
            return None
        spec = self._resolve(variables)
        if isinstance(spec, _Repeat):
            if spec.count is not None and fired >= spec.count:
                return None
            return self._add(previous_due, spec.delta)
        assert isinstance(spec, _Cron)
        return self._cron_next(spec, previous_due)

    def _resolve(self, variables: Any) -> _Spec:
        if self._spec is not None:
            return self._spec
        assert self._expression is not None
        value = self._expression.evaluate(variables)
        try:
            return _from_value(self.kind, value)
        except ValueError as exc:
            raise self._error(f"timer {self.kind} expression {self.text.strip()!r} gave {value!r}: {exc}") from None

    def _add(self, epoch: float, delta: Delta) -> float:
        try:
            return _add(epoch, delta)
        except (ValueError, OverflowError) as exc:
            raise self._error(f"timer {self.kind} {self.text.strip()!r} is out of range: {exc}") from None

    def _catch_up(self, start: float, delta: Delta, now: float) -> float:
        if start >= now:
            return start
        if isinstance(delta, dt.timedelta):
            step = delta.total_seconds()
            return start + math.ceil((now - start) / step) * step
        due, steps = start, 0
        while due < now:
            due, steps = self._add(due, delta), steps + 1
            if steps > _MAX_CATCH_UP:
                raise self._error(f"timer cycle {self.text.strip()!r} starts too far in the past")
        return due

    def _cron_next(self, spec: _Cron, after: float) -> float | None:
        try:
            return float(croniter(spec.expression, after, second_at_beginning=spec.seconds_first).get_next(float))
        except CroniterBadDateError:
            return None

    def _error(self, message: str) -> ExpressionError:
        return ExpressionError(message, element=self.element, line=self.line)


def compile_timer(kind: TimerKind, text: str, *, element: str | None = None, line: int | None = None) -> CompiledTimer:
    """Compile a timer's text; raise ExpressionError (naming the element and line) for an unknown
    kind, a literal that does not parse, or an expression with a syntax error."""
    if kind not in ("date", "duration", "cycle"):
        raise ExpressionError(f"unknown timer kind {kind!r}", element=element, line=line)
    body = (text or "").strip()
    if not body:
        raise ExpressionError(f"timer {kind} is empty", element=element, line=line)
    if body.startswith("=") or "${" in body or "#{" in body:
        expression = compile_expression(body, element=element, line=line)
        return CompiledTimer(kind, text, element, line, expression=expression)
    try:
        spec = _parse(kind, body)
    except ValueError as exc:
        raise ExpressionError(f"invalid timer {kind} {body!r}: {exc}", element=element, line=line) from None
    return CompiledTimer(kind, text, element, line, spec=spec)


def _from_value(kind: str, value: Any) -> _Spec:
    if isinstance(value, str):
        return _parse(kind, value.strip())
    if kind == "date" and isinstance(value, dt.datetime):
        return _At((value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp())
    if kind == "date" and isinstance(value, dt.date):
        return _At(dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).timestamp())
    if kind == "duration" and isinstance(value, (dt.timedelta, isodate.Duration)):
        return _After(_checked_delta(value, allow_zero=True))
    expected = {"date": "date-time", "duration": "duration", "cycle": "cycle"}[kind]
    raise ValueError(f"not an ISO 8601 {expected}")


@lru_cache(maxsize=1024)
def _parse(kind: str, text: str) -> _Spec:
    """Parse a literal (cached: an expression often yields the same text on every run)."""
    if kind == "date":
        return _At(_parse_date(text))
    if kind == "duration":
        return _After(_parse_duration(text, allow_zero=True))
    if text[:1] in "Rr" and "/" in text:
        return _parse_repeat(text)
    return _parse_cron(text)


_ZONE_ID = re.compile(r"^(?P<moment>[^\[\]]+)\[(?P<zone>[A-Za-z0-9_+\-/]+)\]$")


def _parse_date(text: str) -> float:
    match = _ZONE_ID.match(text)
    zone: dt.tzinfo = dt.UTC
    if match is not None:
        text = match["moment"]
        try:
            zone = ZoneInfo(match["zone"])
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {match['zone']!r}") from None
    try:
        if "T" in text:
            moment = isodate.parse_datetime(text)
        else:
            day = isodate.parse_date(text)
            moment = dt.datetime(day.year, day.month, day.day)
    except (ValueError, OverflowError, TypeError) as exc:
        raise ValueError(f"not an ISO 8601 date or date-time ({exc})") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return float(moment.timestamp())


def _parse_duration(text: str, *, allow_zero: bool) -> Delta:
    try:
        delta = isodate.parse_duration(text)
    except (ValueError, OverflowError, TypeError) as exc:
        raise ValueError(f"not an ISO 8601 duration ({exc})") from None
    return _checked_delta(delta, allow_zero=allow_zero)


def _checked_delta(delta: Delta, *, allow_zero: bool) -> Delta:
    try:
        seconds = _add(0.0, delta)  # also proves that calendar parts (months, years) can be added
    except (ValueError, OverflowError) as exc:
        raise ValueError(str(exc)) from None
    if seconds < 0 or (seconds == 0 and not allow_zero):
        raise ValueError("the duration must be positive" if not allow_zero else "the duration is negative")
    return delta


def _parse_repeat(text: str) -> _Repeat:
    parts = text.split("/")
    repeat = parts[0][1:]
    if repeat and not repeat.isdigit():
        raise ValueError(f"repetitions {repeat!r} are not a number")
    count = int(repeat) if repeat else None
    if count == 0:
        raise ValueError("R0 never fires")
    if len(parts) == 2:
        return _Repeat(count, _parse_duration(parts[1], allow_zero=False), None)
    if len(parts) == 3 and not parts[1].upper().startswith("P"):
        if parts[2].upper().startswith("P"):
            return _Repeat(count, _parse_duration(parts[2], allow_zero=False), _parse_date(parts[1]))
        raise ValueError("intervals with an end are not supported; use R[n]/start/duration")
    raise ValueError("expected R[n]/duration or R[n]/start/duration")


def _parse_cron(text: str) -> _Cron:
    fields = text.split()
    seconds_first = len(fields) >= 6  # Zeebe, Spring and Quartz put seconds first
    if not (text.startswith("@") or len(fields) in (5, 6, 7)) or not croniter.is_valid(
        text, second_at_beginning=seconds_first
    ):
        raise ValueError("not an ISO 8601 repeating interval (R[n]/[start/]duration) or a cron expression")
    return _Cron(text, seconds_first)


def _add(epoch: float, delta: Delta) -> float:
    if isinstance(delta, dt.timedelta):
        return epoch + delta.total_seconds()
    # Calendar months and years: add them to the UTC date-time (31 January + P1M is 28 February).
    moment = dt.datetime.fromtimestamp(epoch, dt.UTC) + delta
    return float(moment.timestamp())
