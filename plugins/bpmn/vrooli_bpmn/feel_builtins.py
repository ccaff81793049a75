"""Value semantics and built-in functions of the FEEL subset (see :mod:`vrooli_bpmn.feel`).

FEEL is total: an operation on values of the wrong type, or on ``null``, gives ``null`` instead of
failing. Every helper here follows that rule, so a model's condition never crashes a run because a
variable is missing; the navigator reads ``null`` as false.

Values are plain Python: numbers are ``int``/``float`` (not FEEL's decimal128), strings ``str``,
booleans ``bool``, lists ``list``, contexts ``dict``, dates ``datetime.date``, date-times
``datetime.datetime``, durations ``datetime.timedelta`` or ``isodate.Duration`` (years/months), and
ranges :class:`Range`. ``bool`` is never a number here although Python says so.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import isodate  # type: ignore[import-untyped]

_NUMBER = (int, float)
_TEMPORAL = (dt.date, dt.timedelta, isodate.Duration)  # dt.datetime is a dt.date
# Beyond this many result bits an integer power is computed in floating point, which overflows to
# null instead of building a number that takes seconds and gigabytes (``2 ** 2 ** 2 ** 30``).
_MAX_POWER_BITS = 100_000


@attrs.frozen
class Range:
    """A FEEL range such as ``[1..10)``; an open (``None``) end is unbounded."""

    low: Any
    high: Any
    low_closed: bool = True
    high_closed: bool = True

    def contains(self, value: Any) -> bool | None:
        low = True if self.low is None else compare(">=" if self.low_closed else ">", value, self.low)
        high = True if self.high is None else compare("<=" if self.high_closed else "<", value, self.high)
        return and3(low, high)


def is_number(value: Any) -> bool:
    return isinstance(value, _NUMBER) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    # The category that decides comparability; date and date-time are different FEEL types.
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, _NUMBER):
        return "number"
    if isinstance(value, dt.datetime):
        return "date and time"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, (dt.timedelta, isodate.Duration)):
        return "duration"
    return type(value).__name__


def and3(left: Any, right: Any) -> bool | None:
    """Three-valued ``and``: false wins, then null (a non-boolean counts as null)."""
    if left is False or right is False:
        return False
    if left is True and right is True:
        return True
    return None


def or3(left: Any, right: Any) -> bool | None:
    if left is True or right is True:
        return True
    if left is False and right is False:
        return False
    return None


def equals(left: Any, right: Any) -> bool | None:
    """FEEL ``=``: null equals only null; values of different types are not comparable (null)."""
    if left is None or right is None:
        return left is None and right is None
    if _kind(left) != _kind(right):
        return None
    try:
        return bool(left == right)
    except (TypeError, ValueError):  # naive versus aware date-times
        return None


def compare(op: str, left: Any, right: Any) -> bool | None:
    """``= != < <= > >=``; ordering applies to numbers, strings, dates, date-times, durations."""
    if op == "=":
        return equals(left, right)
    if op == "!=":
        same = equals(left, right)
        return None if same is None else not same
    if left is None or right is None or isinstance(left, (bool, list, dict)):
        return None
    if _kind(left) != _kind(right):
        return None
    try:
        if op == "<":
            return bool(left < right)
        if op == "<=":
            return bool(left <= right)
        if op == ">":
            return bool(left > right)
        return bool(left >= right)
    except (TypeError, ValueError):  # e.g. two isodate.Duration values with months
        return None


def arithmetic(op: str, left: Any, right: Any) -> Any:
    """``+ - * / **`` with FEEL's null results for null operands, bad types and division by zero."""
    if left is None or right is None:
        return None
    if is_number(left) and is_number(right):
        return _number_op(op, left, right)
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return left + right
    if isinstance(left, _TEMPORAL) or isinstance(right, _TEMPORAL):
        if isinstance(left, (bool, str)) or isinstance(right, (bool, str)) or op == "**":
            return None
        try:  # date ± duration, date - date, duration * number …: Python's datetime rules
            result = _PY_OPS[op](left, right)
        except (TypeError, ValueError, ArithmeticError):
            return None
        return None if result is NotImplemented else result
    return None


def _number_op(op: str, left: int | float, right: int | float) -> Any:
    try:
        if op == "+":
            return left + right
        if op == "-":
            return left - right
        if op == "*":
            return left * right
        if op == "/":
            if isinstance(left, int) and isinstance(right, int) and right and left % right == 0:
                return left // right  # 4 / 2 is 2, as FEEL's decimals would print it
            return left / right
        if isinstance(left, int) and isinstance(right, int) and right > 0:
            if left.bit_length() * right > _MAX_POWER_BITS:
                return math.pow(left, right)
        result = left**right
    except (ArithmeticError, ValueError):  # division by zero, float overflow
        return None
    return None if isinstance(result, complex) else result


_PY_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
}


def negate(value: Any) -> Any:
    if is_number(value) or isinstance(value, (dt.timedelta, isodate.Duration)):
        return -value
    return None


def get_path(value: Any, name: str) -> Any:
    """``value.name``: a context entry, mapped over a list, or a date/duration property."""
    if isinstance(value, Mapping):
        return value.get(name)
    if isinstance(value, list):
        return [get_path(item, name) for item in value]
    if isinstance(value, (dt.date, dt.timedelta, isodate.Duration)):
        prop = _TEMPORAL_PROPERTIES.get(name)
        if prop is not None:
            try:
                return prop(value)
            except (AttributeError, TypeError):  # e.g. "hour" of a plain date
                return None
    return None


_TEMPORAL_PROPERTIES: dict[str, Callable[[Any], Any]] = {
    "year": lambda v: v.year,
    "month": lambda v: v.month,
    "day": lambda v: v.day,
    "weekday": lambda v: v.isoweekday(),
    "hour": lambda v: v.hour,
    "minute": lambda v: v.minute,
    "second": lambda v: v.second,
    "days": lambda v: v.days,
    "hours": lambda v: v.seconds // 3600,
    "minutes": lambda v: v.seconds // 60 % 60,
    "seconds": lambda v: v.seconds % 60,
    "years": lambda v: int(v.years),
    "months": lambda v: int(v.months),
}


def index(value: Any, position: Any) -> Any:
    """``list[n]``: 1-based, negative counts from the end; a non-list is a one-item list."""
    items = value if isinstance(value, list) else [value]
    if isinstance(position, float) and position.is_integer():
        position = int(position)
    if not isinstance(position, int) or isinstance(position, bool) or position == 0:
        return None
    if position > len(items) or -position > len(items):
        return None
    return items[position - 1] if position > 0 else items[position]


def in_test(value: Any, test: Any) -> bool | None:
    """``value in test`` where the test evaluated to a range, a list of candidates or a value.

    Membership in a list or equality with a value is true or false (a value of another type is
    simply not a member); only a range can be unknown (null), when the value is not comparable.
    """
    if isinstance(test, Range):
        return test.contains(value)
    if isinstance(test, list):
        return any((c.contains(value) if isinstance(c, Range) else equals(value, c)) is True for c in test)
    return equals(value, test) is True


# --- built-in functions --------------------------------------------------------------------


def _string_fn(fn: Callable[..., Any]) -> Callable[..., Any]:
    # FEEL string functions give null unless every argument is a string.
    def call(*args: Any) -> Any:
        return fn(*args) if all(isinstance(a, str) for a in args) else None

    return call


def _number_fn(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def call(value: Any) -> Any:
        return fn(value) if is_number(value) else None

    return call


def _aggregate(fn: Callable[[list[Any]], Any]) -> Callable[..., Any]:
    # min/max/sum take a list or several arguments; a null or mixed list gives null.
    def call(*args: Any) -> Any:
        items = args[0] if len(args) == 1 and isinstance(args[0], list) else list(args)
        if not items or any(item is None or isinstance(item, bool) for item in items):
            return None
        if len({_kind(item) for item in items}) != 1:
            return None
        try:
            return fn(items)
        except (TypeError, ValueError):
            return None

    return call


def _sum(items: list[Any]) -> Any:
    return sum(items) if is_number(items[0]) else None


def _not(value: Any) -> bool | None:
    return (not value) if isinstance(value, bool) else None


def _string(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    if isinstance(value, (dt.timedelta, isodate.Duration)):
        return str(isodate.duration_isoformat(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return str(value)
    except ValueError:  # an integer beyond Python's digit limit for str()
        return None


def _number(value: Any) -> int | float | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        result = float(text)
    except ValueError:
        return None
    return result if math.isfinite(result) else None


def _date(*args: Any) -> dt.date | None:
    try:
        if len(args) == 3:
            if all(is_number(a) and float(a).is_integer() for a in args):
                return dt.date(int(args[0]), int(args[1]), int(args[2]))
            return None
        (value,) = args
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str) and "T" not in value:
            day: dt.date = isodate.parse_date(value)
            return day
    except (ValueError, OverflowError):
        return None
    return None


def _date_and_time(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, str):
        return None
    try:
        if "T" not in value:
            day = isodate.parse_date(value)
            return dt.datetime(day.year, day.month, day.day)
        moment: dt.datetime = isodate.parse_datetime(value)
        return moment
    except (ValueError, OverflowError):
        return None


def _duration(value: Any) -> Any:
    if not isinstance(value, str):
        return None
    try:
        return isodate.parse_duration(value)
    except (ValueError, OverflowError):
        return None


def _count(value: Any) -> int | None:
    return len(value) if isinstance(value, list) else None


def _floor(value: Any) -> int | None:
    try:
        result: int = math.floor(value)
        return result
    except (OverflowError, ValueError):  # inf, nan
        return None


def _ceiling(value: Any) -> int | None:
    try:
        result: int = math.ceil(value)
        return result
    except (OverflowError, ValueError):
        return None


def _abs(value: Any) -> Any:
    if isinstance(value, (dt.timedelta, isodate.Duration)):
        return abs(value)
    return abs(value) if is_number(value) else None


#: name -> (minimum arguments, maximum arguments or None for any, function)
BUILTINS: dict[str, tuple[int, int | None, Callable[..., Any]]] = {
    "not": (1, 1, _not),
    "string length": (1, 1, _string_fn(len)),
    "upper case": (1, 1, _string_fn(str.upper)),
    "lower case": (1, 1, _string_fn(str.lower)),
    "contains": (2, 2, _string_fn(lambda s, m: m in s)),
    "starts with": (2, 2, _string_fn(str.startswith)),
    "ends with": (2, 2, _string_fn(str.endswith)),
    "count": (1, 1, _count),
    "sum": (1, None, _aggregate(_sum)),
    "min": (1, None, _aggregate(min)),
    "max": (1, None, _aggregate(max)),
    "abs": (1, 1, _abs),
    "floor": (1, 1, _number_fn(_floor)),
    "ceiling": (1, 1, _number_fn(_ceiling)),
    "string": (1, 1, _string),
    "number": (1, 1, _number),
    "date": (1, 3, _date),
    "date and time": (1, 1, _date_and_time),
    "duration": (1, 1, _duration),
}
#: ``is defined`` is compiled specially (it must see a missing variable, not its null value).
SPECIAL = ("is defined",)
