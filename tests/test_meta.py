"""Every hookspec has tests and a documentation section (a hook nobody tests or documents is a hook
plugin authors cannot rely on)."""

from __future__ import annotations

import inspect
import re
from functools import cache
from pathlib import Path

import pytest

from vrooli_core import hookspecs

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
DOCS = ROOT / "docs"


def hook_names() -> list[str]:
    return sorted(name for name, fn in vars(hookspecs).items() if inspect.isfunction(fn) and hasattr(fn, "vrooli_spec"))


@cache
def _test_sources() -> dict[Path, str]:
    return {
        p: p.read_text(encoding="utf-8") for p in TESTS.rglob("test_*.py") if p.resolve() != Path(__file__).resolve()
    }


@cache
def _doc_headings() -> list[tuple[Path, str]]:
    found = []
    for path in DOCS.rglob("*.md"):
        in_code = False
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.lstrip().startswith("```"):
                in_code = not in_code
            elif not in_code and re.match(r"#{1,6}\s", line):
                found.append((path, line))
    return found


def files_using(name: str) -> list[Path]:
    word = re.compile(rf"\b{re.escape(name)}\b")
    return sorted(p for p, text in _test_sources().items() if word.search(text))


def headings_with(name: str) -> list[str]:
    word = re.compile(rf"\b{re.escape(name)}\b")
    return [line for _, line in _doc_headings() if word.search(line)]


def test_there_are_hookspecs() -> None:
    assert "vrooli_register_navigators" in hook_names() and len(hook_names()) >= 8


@pytest.mark.parametrize("name", hook_names())
def test_hookspec_is_tested(name: str) -> None:
    assert files_using(name), f"no test under tests/ (besides test_meta.py) uses the hook {name}"


@pytest.mark.parametrize("name", hook_names())
def test_hookspec_is_documented(name: str) -> None:
    assert headings_with(name), f"no heading in docs/ names the hook {name}"


@pytest.mark.parametrize("name", hook_names())
def test_hookspec_has_a_docstring(name: str) -> None:
    doc = inspect.getdoc(getattr(hookspecs, name)) or ""
    assert len(doc) > 40, f"the hookspec {name} needs a docstring saying when it is called and what it returns"


def test_the_checks_can_fail() -> None:
    """The lookups find nothing for a hook that does not exist, nor for a prefix of a real one."""
    assert files_using("vrooli_no_such_hook") == []
    assert headings_with("vrooli_no_such_hook") == []
    assert headings_with("vrooli_register") == []
