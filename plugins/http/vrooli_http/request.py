"""An API step's configuration, checked: what to send, what to accept, how often to try."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

from vrooli_http.errors import HttpStepError

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Methods a server must treat as safe to repeat (RFC 9110 §9.2.2).
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RESPONSES = ("auto", "json", "text")
#: Keys the kernel or a navigator may put in a step's config besides ours.
_FOREIGN = frozenset({"output_schema", "description"})
_KEYS = frozenset({
    "method", "url", "base_url", "headers", "query", "body", "form", "timeout", "expect", "retries",
    "response", "idempotency_key", "follow_redirects",
}) | _FOREIGN
_RANGE = re.compile(r"([1-5])xx\Z|(\d{3})\s*-\s*(\d{3})\Z|(\d{3})\Z")


@attrs.frozen
class RequestSpec:
    """A step's request as configured (templates not yet filled)."""

    step_id: str
    method: str
    url: str
    base_url: str = ""
    headers: Mapping[str, str] = attrs.field(factory=dict)
    query: Mapping[str, Any] = attrs.field(factory=dict)
    body: Any = None
    form: Mapping[str, Any] | None = None
    timeout: float | None = None
    expect: tuple[tuple[int, int], ...] = ((200, 299),)
    retries: int | None = None
    response: str = "auto"
    #: Send ``ctx.idempotency_key`` as ``Idempotency-Key`` (default: for POST only).
    idempotency_key: bool = False
    follow_redirects: bool = False
    has_body: bool = False

    @classmethod
    def from_config(cls, step_id: str, config: Mapping[str, Any]) -> RequestSpec:
        def bad(message: str) -> HttpStepError:
            return HttpStepError("invalid_config", f"API step {step_id!r}: {message}")

        unknown = sorted(set(config) - _KEYS)
        if unknown:
            raise bad(f"unknown config key(s) {', '.join(unknown)} (known: {', '.join(sorted(_KEYS - _FOREIGN))})")
        method = config.get("method", "GET")
        if not isinstance(method, str) or method.upper() not in METHODS:
            raise bad(f"method must be one of {', '.join(sorted(METHODS))}, not {method!r}")
        method = method.upper()
        url = config.get("url", "")
        base_url = config.get("base_url", "")
        if not isinstance(url, str) or not isinstance(base_url, str) or not (url or base_url):
            raise bad("needs a url (a string; base_url, when set, is put in front of it)")
        headers = config.get("headers") or {}
        if not isinstance(headers, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
            raise bad("headers must map names to strings")
        query = config.get("query") or {}
        if not isinstance(query, Mapping) or not all(isinstance(k, str) and _query_value(v) for k, v in query.items()):
            raise bad("query must map names to strings, numbers, booleans or lists of them")
        if "body" in config and "form" in config:
            raise bad("set body (JSON) or form, not both")
        form = config.get("form")
        if form is not None and (not isinstance(form, Mapping) or not all(_query_value(v) for v in form.values())):
            raise bad("form must map names to strings, numbers, booleans or lists of them")
        timeout = config.get("timeout")
        if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0):
            raise bad(f"timeout must be a positive number of seconds, not {timeout!r}")
        retries = config.get("retries")
        if retries is not None and (isinstance(retries, bool) or not isinstance(retries, int) or retries < 0):
            raise bad(f"retries must be a whole number of at least 0, not {retries!r}")
        response = config.get("response", "auto")
        if response not in RESPONSES:
            raise bad(f"response must be one of {', '.join(RESPONSES)}, not {response!r}")
        key = config.get("idempotency_key", method == "POST")
        redirects = config.get("follow_redirects", False)
        if not isinstance(key, bool) or not isinstance(redirects, bool):
            raise bad("idempotency_key and follow_redirects must be true or false")
        return cls(
            step_id=step_id,
            method=method,
            url=url,
            base_url=base_url,
            headers=dict(headers),
            query=dict(query),
            body=config.get("body"),
            form=dict(form) if form is not None else None,
            timeout=float(timeout) if timeout is not None else None,
            expect=_expect(config.get("expect"), bad),
            retries=retries,
            response=response,
            idempotency_key=key,
            follow_redirects=redirects,
            has_body="body" in config,
        )

    def accepts(self, status: int) -> bool:
        return any(lo <= status <= hi for lo, hi in self.expect)

    def expect_text(self) -> str:
        return ", ".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in self.expect)


def _query_value(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return all(isinstance(v, str | int | float | bool) for v in value)
    return isinstance(value, str | int | float | bool)


def _expect(value: Any, bad: Any) -> tuple[tuple[int, int], ...]:
    """``expect = [200, 404]``, ``"2xx"``, ``["200-299", 304]``."""
    if value is None:
        return ((200, 299),)
    items = value if isinstance(value, list | tuple) else [value]
    ranges: list[tuple[int, int]] = []
    for item in items:
        if isinstance(item, int) and not isinstance(item, bool) and 100 <= item <= 599:
            ranges.append((item, item))
            continue
        match = _RANGE.match(item.strip().lower()) if isinstance(item, str) else None
        if match is None:
            raise bad(f"expect must list status codes, 'Nxx' classes or 'lo-hi' ranges, not {item!r}")
        if match.group(1):
            ranges.append((int(match.group(1)) * 100, int(match.group(1)) * 100 + 99))
        elif match.group(2):
            ranges.append((int(match.group(2)), int(match.group(3))))
        else:
            ranges.append((int(match.group(4)), int(match.group(4))))
    if not ranges:
        raise bad("expect lists no status codes")
    return tuple(ranges)
