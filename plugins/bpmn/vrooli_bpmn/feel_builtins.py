"""Value semantics and built-in functions of the FEEL subset (see :mod:`vrooli_bpmn.feel`).

FEEL is total: an operation on values of the wrong type, or on ``null``, gives ``null`` instead of
failing. Every helper here follows that rule, so a model's condition never crashes a run because a
variable is missing; the navigator reads ``null`` as false.

Values are plain Python: numbers are ``int``/``float`` (not FEEL's decimal128), strings ``str``,
booleans ``bool``, lists ``list``, contexts ``dict``, dates ``datetime.date``, date-times
``datetime.datetime``, durations ``datetime.timedelta`` or ``isodate.Duration`` (years/months), and
ranges :class:`Range`. ``bool`` is never a number here although Python says so.

List functions give ``null`` for a first argument that is not a list. Positions are 1-based and
negative ones count from the end; a position outside the value gives ``null``, a length running
past the end is cut to it (``sublist``, ``substring``).

``replace``, ``matches`` and ``split`` take a pattern in Python's regular-expression dialect (the
common subset of XML Schema's: classes, ``\\d \\s \\w``, anchors, groups, alternation,
quantifiers) and ``replace``/``matches`` the flags ``i``, ``s``, ``m`` and ``q`` (the pattern, and
for ``replace`` the replacement, are plain text). In a replacement ``$1`` is a group (``$0`` the
match) and ``\\$``, ``\\\\`` are the characters. A pattern that matches the empty string gives
``null`` for ``replace`` and ``split``, as in XPath; ``split`` of ``""`` is ``[]``.

Python's matcher backtracks and cannot be interrupted, so a pattern is accepted only if it is at
most :data:`MAX_PATTERN_LENGTH` characters and has no back-reference, no quantified group that
itself contains a repetition or an alternation (``(a+)+``, ``(a|b)*``: the exponential cases) and
no ``(?…)`` construct other than ``(?:``, look-arounds and named groups; any other pattern gives
``null``, and is a load-time error when the pattern (and flags) are literals. The remaining
polynomial cost is bounded by the input's length: with ``k`` unbounded repetitions (``*``, ``+``,
``{n,}``) and ``c`` choices from bounded ones (``?`` is 2, ``{1,3}`` is 3, multiplied) an input of
``n`` characters is run only while ``n ** (k + 1) / (k + 1)! * c`` stays within
:data:`REGEX_BUDGET` (about 6,300 characters for one ``+``, 490 for two), and never beyond
:data:`MAX_REGEX_INPUT` characters. A longer input is an evaluation error, not a silent
``null``. A plain-text pattern (``q``, or one without metacharacters) runs on ``str`` methods
and has no such bound.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

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


def integer(value: Any) -> int | None:
    """An integral number as ``int`` (``2.0`` too); anything else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _span(size: int, start: Any, length: Any) -> slice | None:
    # 1-based ``start`` (negative from the end) and optional ``length`` as a slice; None when out
    # of range or not integers.
    first = integer(start)
    if first is None or first == 0 or first > size or -first > size:
        return None
    begin = first - 1 if first > 0 else size + first
    if length is None:
        return slice(begin, size)
    count = integer(length)
    if count is None or count < 0:
        return None
    return slice(begin, begin + count)


# --- list functions ------------------------------------------------------------------------


def _append(items: Any, *more: Any) -> list[Any] | None:
    return [*items, *more] if isinstance(items, list) else None


def _concatenate(*lists: Any) -> list[Any] | None:
    if not all(isinstance(items, list) for items in lists):
        return None
    return [item for items in lists for item in items]


def _distinct_values(items: Any) -> list[Any] | None:
    if not isinstance(items, list):
        return None
    seen: set[Any] = set()
    unhashable: list[Any] = []
    kept = []
    for item in items:
        try:
            key = (_kind(item), item)  # 1 and 1.0 are one number; 1 and true are not
            if key in seen:
                continue
            seen.add(key)
        except TypeError:  # lists and contexts: compared one by one
            if any(equals(item, other) is True for other in unhashable):
                continue
            unhashable.append(item)
        kept.append(item)
    return kept


_END: Any = object()


def _flatten(items: Any) -> list[Any] | None:
    # Iterative, so a deeply nested value cannot exhaust the stack; a list that contains itself
    # (only possible in data handed in from Python) gives null instead of looping.
    if not isinstance(items, list):
        return None
    flat: list[Any] = []
    stack = [iter(items)]
    open_lists = {id(items)}
    owners = [items]
    while stack:
        item = next(stack[-1], _END)
        if item is _END:
            stack.pop()
            open_lists.discard(id(owners.pop()))
        elif isinstance(item, list):
            if id(item) in open_lists:
                return None
            open_lists.add(id(item))
            owners.append(item)
            stack.append(iter(item))
        else:
            flat.append(item)
    return flat


def _index_of(items: Any, match: Any) -> list[int] | None:
    if not isinstance(items, list):
        return None
    return [position for position, item in enumerate(items, 1) if equals(item, match) is True]


def _list_contains(items: Any, element: Any) -> bool | None:
    if not isinstance(items, list):
        return None
    return any(equals(item, element) is True for item in items)


def _sublist(items: Any, start: Any, length: Any = None) -> list[Any] | None:
    if not isinstance(items, list):
        return None
    span = _span(len(items), start, length)
    return None if span is None else items[span]


def _reverse(items: Any) -> list[Any] | None:
    return items[::-1] if isinstance(items, list) else None


def _mean(items: list[Any]) -> Any:
    if not is_number(items[0]):
        return None
    return _number_op("/", sum(items), len(items))


def _product(items: list[Any]) -> Any:
    if not is_number(items[0]):
        return None
    return math.prod(items)


# --- string functions ----------------------------------------------------------------------


def _string_join(items: Any, delimiter: Any = "") -> str | None:
    # FEEL 1.3: null items are skipped, a null delimiter is the empty one.
    if not isinstance(items, list):
        return None
    if delimiter is None:
        delimiter = ""
    parts = [item for item in items if item is not None]
    if not isinstance(delimiter, str) or not all(isinstance(part, str) for part in parts):
        return None
    return delimiter.join(parts)


def _substring(text: Any, start: Any, length: Any = None) -> str | None:
    if not isinstance(text, str):
        return None
    span = _span(len(text), start, length)
    return None if span is None else text[span]


def _substring_before(text: str, match: str) -> str:
    at = text.find(match)
    return "" if at < 0 else text[:at]


def _substring_after(text: str, match: str) -> str:
    at = text.find(match)
    return "" if at < 0 else text[at + len(match) :]


MAX_PATTERN_LENGTH = 100
MAX_REGEX_INPUT = 1_000_000
REGEX_BUDGET = 20_000_000
_REGEX_FLAGS = {"i": re.IGNORECASE, "s": re.DOTALL, "m": re.MULTILINE, "q": 0}
_METACHARACTERS = frozenset("\\.^$*+?{}[]|()")
_QUANTIFIER = re.compile(r"\{([0-9]*)(,?)([0-9]*)\}")
_DIGITS = frozenset("0123456789")  # str.isdigit() also accepts digits int() will not read
_GROUP_OPENINGS = ("(?:", "(?=", "(?!", "(?<=", "(?<!")


class _Regex(NamedTuple):
    pattern: re.Pattern[str] | None  # None: plain text, matched with str methods
    text: str  # the plain text, when ``pattern`` is None
    max_input: int | None  # the longest input the pattern may run on; None: any


def pattern_problem(pattern: str, flags: str = "") -> str | None:
    """Why ``pattern`` with ``flags`` is refused (see the module docstring), or None."""
    prepared = _prepare(pattern, flags)
    return prepared if isinstance(prepared, str) else None


def _prepare(pattern: str, flags: str) -> _Regex | str:
    # Patterns come from literals and variables alike; only short ones are worth (and safe) caching.
    if len(pattern) > MAX_PATTERN_LENGTH or len(flags) > len(_REGEX_FLAGS):
        return _prepare_now(pattern, flags)
    return _prepare_cached(pattern, flags)


def _prepare_now(pattern: str, flags: str) -> _Regex | str:
    if any(flag not in _REGEX_FLAGS for flag in flags):
        return f"unknown regular-expression flags {flags!r} (use i, s, m, q)"
    options = 0
    for flag in flags:
        options |= _REGEX_FLAGS[flag]
    if "q" in flags or not (_METACHARACTERS & set(pattern)):
        if "i" not in flags:
            return _Regex(None, pattern, None)
        return _Regex(re.compile(re.escape(pattern), options), pattern, None)  # plain text: linear
    if len(pattern) > MAX_PATTERN_LENGTH:
        return f"regular expression longer than {MAX_PATTERN_LENGTH} characters"
    try:
        compiled = re.compile(pattern, options)
    except (re.error, OverflowError, ValueError) as exc:
        return f"invalid regular expression {pattern!r}: {exc}"
    cost = _repetitions(pattern)
    if isinstance(cost, str):
        return cost
    unbounded, choices = cost
    room = REGEX_BUDGET / choices
    if room < 1:
        return "too many optional repetitions in the regular expression"
    # The longest input n with n ** (k + 1) / (k + 1)! * choices <= REGEX_BUDGET.
    limit = int((room * math.factorial(unbounded + 1)) ** (1 / (unbounded + 1)))
    return _Regex(compiled, pattern, min(limit, MAX_REGEX_INPUT))


_prepare_cached = functools.lru_cache(maxsize=256)(_prepare_now)


def _repetitions(pattern: str) -> tuple[int, int] | str:
    """The unbounded repetitions (``*``, ``+``, ``{n,}``) of a pattern that compiled and the
    product of its bounded choices (``?`` is 2, ``{2,5}`` is 4), or why it is refused.

    ``groups`` holds, per open group, whether it contains a repetition that is not a fixed count,
    or an alternation; such a group may not be quantified itself (the exponential case)."""
    unbounded, choices = 0, 1
    groups = [False]
    closed_risky = False  # the previous atom is a group holding a repetition or an alternation
    i, size = 0, len(pattern)
    while i < size:
        char = pattern[i]
        if char in "*+?{":
            match = _QUANTIFIER.match(pattern, i) if char == "{" else None
            if char == "{" and (match is None or not (match[1] or match[2])):
                closed_risky, i = False, i + 1  # a literal brace
                continue
            if closed_risky:
                return "a repeated group may not itself contain a repetition or an alternation"
            end = match.end() if match else i + 1
            if end < size and pattern[end] in "?+":  # lazy or possessive
                end += 1
            if char in "*+" or (match is not None and match[2] and not match[3]):
                unbounded += 1
                groups[-1] = True
            elif char == "?" or (match is not None and match[2] and match[1] != match[3]):
                low = int(match[1] or 0) if match else 0
                high = int(match[3]) if match else 1
                choices = min(choices * max(high - low + 1, 1), REGEX_BUDGET + 1)
                groups[-1] = True
            closed_risky, i = False, end
            continue
        closed_risky = False
        if char == "\\":
            if pattern[i + 1 : i + 2] in _DIGITS and pattern[i + 1] != "0":
                return "back-references are not supported in regular expressions"
            i += 2
        elif char == "[":
            i = _class_end(pattern, i)
        elif char == "(":
            if pattern.startswith("(?P<", i):
                i = pattern.index(">", i) + 1
            elif pattern.startswith("(?", i):
                opening = next((o for o in _GROUP_OPENINGS if pattern.startswith(o, i)), None)
                if opening is None:
                    return f"unsupported regular-expression construct {pattern[i : i + 3]!r}"
                i += len(opening)
            else:
                i += 1
            groups.append(False)
        elif char == ")":
            closed_risky = groups.pop()
            groups[-1] = groups[-1] or closed_risky
            i += 1
        else:
            if char == "|":
                groups[-1] = True
            i += 1
    return unbounded, choices


def _class_end(pattern: str, start: int) -> int:
    # The index after the character class opening at ``start`` (the pattern compiled, so it closes).
    i = start + 1
    if pattern.startswith("^", i):
        i += 1
    if pattern.startswith("]", i):
        i += 1
    while i < len(pattern) and pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i + 1


def _regex_for(function: str, text: str, pattern: str, flags: str) -> _Regex | None:
    prepared = _prepare(pattern, flags)
    if isinstance(prepared, str):
        return None
    if prepared.max_input is not None and len(text) > prepared.max_input:
        raise ValueError(
            f"{function}(): an input of {len(text):,} characters is longer than the "
            f"{prepared.max_input:,} that the pattern {pattern!r} may safely run on"
        )
    return prepared


def _replace(text: Any, pattern: Any, replacement: Any, flags: Any = "") -> str | None:
    if not all(isinstance(a, str) for a in (text, pattern, replacement, flags)):
        return None
    regex = _regex_for("replace", text, pattern, flags)
    if regex is None:
        return None
    if not regex.text:
        return None  # a pattern matching the empty string is an error in FEEL (XPath)
    if "q" in flags:
        template: list[str | int] | None = [replacement]  # plain text both ways
    else:
        template = _template(replacement, 0 if regex.pattern is None else regex.pattern.groups)
    if template is None:
        return None
    if regex.pattern is None:
        replaced: str = text.replace(regex.text, "".join(regex.text if isinstance(p, int) else p for p in template))
        return replaced
    if regex.pattern.search(""):
        return None
    if all(isinstance(p, str) for p in template):  # no group: Python's own (C) substitution
        return regex.pattern.sub("".join(map(str, template)).replace("\\", "\\\\"), text)

    def substitute(match: re.Match[str]) -> str:
        return "".join((match.group(p) or "") if isinstance(p, int) else p for p in template)

    return regex.pattern.sub(substitute, text)


def _template(replacement: str, groups: int) -> list[str | int] | None:
    """An XPath replacement string as text parts and group numbers: ``$n`` is a group (the most
    digits that still name one; ``$0`` the whole match), ``\\$`` and ``\\\\`` are the characters;
    any other ``$`` or ``\\`` is an error (None)."""
    parts: list[str | int] = []
    i, size = 0, len(replacement)
    while i < size:
        char = replacement[i]
        if char == "\\":
            if replacement[i + 1 : i + 2] not in ("$", "\\"):
                return None
            parts.append(replacement[i + 1])
            i += 2
        elif char == "$":
            if replacement[i + 1 : i + 2] not in _DIGITS:
                return None
            end = i + 2
            while end < size and replacement[end] in _DIGITS and int(replacement[i + 1 : end + 1]) <= groups:
                end += 1
            number = int(replacement[i + 1 : end])
            parts.append(number if number <= groups else "")
            i = end
        else:
            parts.append(char)
            i += 1
    return parts


def _matches(text: Any, pattern: Any, flags: Any = "") -> bool | None:
    if not all(isinstance(a, str) for a in (text, pattern, flags)):
        return None
    regex = _regex_for("matches", text, pattern, flags)
    if regex is None:
        return None
    if regex.pattern is None:
        return regex.text in text
    return regex.pattern.search(text) is not None


def _split(text: Any, delimiter: Any) -> list[str] | None:
    if not (isinstance(text, str) and isinstance(delimiter, str)):
        return None
    regex = _regex_for("split", text, delimiter, "")
    if regex is None:
        return None
    if not text:
        return []
    if not regex.text:
        return None  # an empty delimiter matches the empty string: an error in FEEL (XPath)
    if regex.pattern is None:
        return text.split(regex.text)
    if regex.pattern.search(""):
        return None  # a delimiter matching the empty string is an error in FEEL (XPath)
    # Python's split puts each match's groups between the parts; FEEL's parts are only the text.
    return regex.pattern.split(text)[:: regex.pattern.groups + 1]


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
    "string join": (1, 2, _string_join),
    "substring": (2, 3, _substring),
    "substring before": (2, 2, _string_fn(_substring_before)),
    "substring after": (2, 2, _string_fn(_substring_after)),
    "trim": (1, 1, _string_fn(str.strip)),
    "replace": (3, 4, _replace),
    "matches": (2, 3, _matches),
    "split": (2, 2, _split),
    "append": (1, None, _append),
    "concatenate": (1, None, _concatenate),
    "distinct values": (1, 1, _distinct_values),
    "flatten": (1, 1, _flatten),
    "index of": (2, 2, _index_of),
    "list contains": (2, 2, _list_contains),
    "sublist": (2, 3, _sublist),
    "reverse": (1, 1, _reverse),
    "mean": (1, None, _aggregate(_mean)),
    "product": (1, None, _aggregate(_product)),
}
#: The functions whose argument at the first index is a regular expression and at the second its
#: flags; the parser checks literal patterns at load time.
PATTERN_ARGUMENTS: dict[str, tuple[int, int | None]] = {"replace": (1, 3), "matches": (1, 2), "split": (1, None)}
#: ``is defined`` is compiled specially (it must see a missing variable, not its null value).
SPECIAL = ("is defined",)
