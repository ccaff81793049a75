"""What every conformance suite shares: the guard against silently weakened suites, and running
async checks from plain test methods.

A suite is a class whose name does not start with ``Test`` (pytest does not collect it); a plugin's
test module subclasses it as ``Test…`` and supplies a few properties. The standard tests are the
``test_*`` methods the suites define. A subclass may override one only to mark it as an expected
failure, ``@pytest.mark.xfail(reason="…")``; deleting one (``test_x = None``) or overriding it without
that marker is caught by :meth:`ConformanceSuite.test_no_unmarked_overrides`.

The standard tests are plain methods that run their async part with :func:`anyio.run`, so they work
whatever async pytest plugin (or none) a project uses.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, TypeVar

import anyio
import attrs

__all__ = ["ConformanceSuite", "Override", "find_unmarked_overrides", "standard_tests"]

T = TypeVar("T")
GUARD = "test_no_unmarked_overrides"


@attrs.frozen
class Override:
    """A standard test a subclass deleted or overrode without an ``xfail(reason=…)`` marker."""

    test: str
    suite: str
    where: str
    problem: str

    def __str__(self) -> str:
        return f"{self.test} (from {self.suite}) {self.problem} in {self.where}"


class ConformanceSuite:
    """Base of the conformance suites. Subclasses that define standard tests pass ``suite=True``::

    class NavigatorConformance(ConformanceSuite, suite=True): ...
    """

    #: The anyio backend the suites' async parts run on.
    async_backend: ClassVar[str] = "asyncio"
    #: Seconds any one engine interaction of a standard test may take before it fails.
    timeout: ClassVar[float] = 30.0
    __suite__: ClassVar[bool] = True

    def __init_subclass__(cls, *, suite: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__suite__ = suite
        if not suite and GUARD in cls.__dict__:
            raise TypeError(
                f"{cls.__qualname__} must not override {GUARD}: it is what keeps the conformance suite honest"
            )

    def run_async(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``fn(*args)`` to completion on :attr:`async_backend`. A failure inside a task group
        (an engine's) is raised as itself, not wrapped in an exception group, so the report shows
        the failed assertion."""
        try:
            return anyio.run(fn, *args, backend=self.async_backend)
        except BaseExceptionGroup as group:
            leaf = _single_leaf(group)
            if leaf is None:
                raise
            raise leaf.with_traceback(leaf.__traceback__) from None

    @staticmethod
    def unique_name(prefix: str = "conformance") -> str:
        """A name no other test uses (for stores and routine ids)."""
        return f"{prefix}-{uuid.uuid4().hex[:12]}"

    def test_no_unmarked_overrides(self) -> None:
        """Every standard test of the suite is present and either inherited unchanged or overridden
        with ``@pytest.mark.xfail(reason=...)``."""
        problems = find_unmarked_overrides(type(self))
        assert not problems, "standard conformance tests were weakened:\n  " + "\n  ".join(map(str, problems))


def _single_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    while len(group.exceptions) == 1:
        inner = group.exceptions[0]
        if not isinstance(inner, BaseExceptionGroup):
            return inner
        group = inner
    return None


def _suites(cls: type) -> list[type]:
    return [k for k in cls.__mro__ if _is_suite(k)]


def standard_tests(cls: type) -> dict[str, type]:
    """The standard tests ``cls`` must run: name -> the suite class that defines it."""
    found: dict[str, type] = {}
    for suite in reversed(_suites(cls)):
        for name, value in vars(suite).items():
            if name.startswith("test") and callable(value):
                found[name] = suite
    return found


def find_unmarked_overrides(cls: type) -> list[Override]:
    """Standard tests ``cls`` deleted, or overrode without an ``xfail`` marker that gives a reason."""
    problems = []
    for name, suite in sorted(standard_tests(cls).items()):
        owner = next(k for k in cls.__mro__ if name in k.__dict__)
        if _is_suite(owner):
            continue
        value = owner.__dict__[name]
        where = f"{owner.__module__}.{owner.__qualname__}"
        if not callable(value):
            problems.append(Override(name, suite.__qualname__, where, f"was deleted (set to {value!r})"))
        elif not _has_xfail_reason(value):
            problems.append(
                Override(name, suite.__qualname__, where, "was overridden without @pytest.mark.xfail(reason=...)")
            )
    return problems


def _is_suite(klass: type) -> bool:
    return klass.__dict__.get("__suite__") is True


def _has_xfail_reason(fn: Any) -> bool:
    for mark in getattr(fn, "pytestmark", ()):
        if getattr(mark, "name", None) == "xfail" and str(mark.kwargs.get("reason") or "").strip():
            return True
    return False
