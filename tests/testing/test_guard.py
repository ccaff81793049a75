"""The guard that keeps conformance suites honest: standard tests may not be deleted or overridden
without an ``xfail(reason=...)`` marker."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from vrooli_core.testing.conformance import (
    AnalyzerConformance,
    ConformanceSuite,
    NavigatorConformance,
    SafetyCheckConformance,
    StorageConformance,
    StrategyConformance,
    find_unmarked_overrides,
    standard_tests,
)

SUITES = [NavigatorConformance, StorageConformance, StrategyConformance, SafetyCheckConformance, AnalyzerConformance]


@pytest.mark.parametrize("suite", SUITES, ids=lambda s: s.__name__)
def test_suites_are_not_collected_themselves(suite: type) -> None:
    assert not suite.__name__.startswith("Test")
    assert "test_no_unmarked_overrides" in standard_tests(suite)


def test_storage_suite_includes_its_engine_tests() -> None:
    tests = standard_tests(StorageConformance)
    assert "test_engine_run_survives_restarts" in tests and "test_find_waits_filters" in tests


def test_untouched_subclass_passes() -> None:
    class Plain(NavigatorConformance):
        pass

    assert find_unmarked_overrides(Plain) == []
    Plain().test_no_unmarked_overrides()


def test_override_without_xfail_is_caught() -> None:
    class Weakened(NavigatorConformance):
        def test_load_is_deterministic(self) -> None:
            pass

    problems = find_unmarked_overrides(Weakened)
    assert [(p.test, p.suite) for p in problems] == [("test_load_is_deterministic", "NavigatorLoadTests")]
    assert "without @pytest.mark.xfail" in str(problems[0])
    with pytest.raises(AssertionError, match="test_load_is_deterministic"):
        Weakened().test_no_unmarked_overrides()


def test_deleted_test_is_caught() -> None:
    class Deleted(StorageConformance):
        test_list_runs_filters = None  # type: ignore[assignment]

    problems = find_unmarked_overrides(Deleted)
    assert [p.test for p in problems] == ["test_list_runs_filters"]
    assert "deleted" in problems[0].problem


def test_override_with_xfail_reason_passes() -> None:
    class Marked(StrategyConformance):
        @pytest.mark.xfail(reason="the strategy cannot run twice at once yet", strict=True)
        def test_concurrent_executions(self) -> None:
            super().test_concurrent_executions()

    assert find_unmarked_overrides(Marked) == []


def test_xfail_needs_a_reason() -> None:
    class NoReason(SafetyCheckConformance):
        @pytest.mark.xfail
        def test_allows(self) -> None:
            pass

        @pytest.mark.skip(reason="skipping is not enough")
        def test_denies(self) -> None:
            pass

    assert sorted(p.test for p in find_unmarked_overrides(NoReason)) == ["test_allows", "test_denies"]


def test_override_in_an_intermediate_base_is_caught() -> None:
    class PluginBase(AnalyzerConformance):
        def test_empty_history_gives_nothing(self) -> None:
            pass

    class Concrete(PluginBase):
        pass

    problems = find_unmarked_overrides(Concrete)
    assert [p.test for p in problems] == ["test_empty_history_gives_nothing"]
    assert "PluginBase" in problems[0].where


def test_the_guard_itself_cannot_be_overridden() -> None:
    with pytest.raises(TypeError, match="test_no_unmarked_overrides"):

        class Sneaky(NavigatorConformance):
            def test_no_unmarked_overrides(self) -> None:
                pass

    with pytest.raises(TypeError):

        class Deleter(NavigatorConformance):
            test_no_unmarked_overrides = None  # type: ignore[assignment]


def test_a_suite_extending_a_suite_may_override() -> None:
    class Extended(StrategyConformance, suite=True):
        def test_name_and_kinds(self) -> None:
            super().test_name_and_kinds()

        def test_extra(self) -> None:
            pass

    class User(Extended):
        pass

    assert find_unmarked_overrides(User) == []
    assert standard_tests(User)["test_extra"] is Extended
    assert issubclass(Extended, ConformanceSuite)


PLUGIN_TESTS = """
import pytest
from vrooli_core.model import RoutineSource
from vrooli_core.testing import FlowNavigator
from vrooli_core.testing.conformance import NavigatorConformance

SEQ = "[steps.a]\\nnext = \\"b\\"\\n[steps.b]\\n"


class TestMine(NavigatorConformance):
    navigator_class = FlowNavigator
    sequence_source = RoutineSource(SEQ, "seq.flow.toml")
    invalid_sources = [(RoutineSource("[steps.a]\\nnext = \\"zz\\"\\n", "x.flow.toml"), "zz")]

    MARK
    def test_start_is_deterministic(self):
        pass
"""


@pytest.mark.parametrize(
    ("mark", "outcome"),
    [("", "1 failed"), ("@pytest.mark.xfail(reason='known', strict=False)", "0 failed")],
    ids=["unmarked override fails the run", "xfail override passes"],
)
def test_guard_in_a_real_pytest_run(tmp_path: Path, mark: str, outcome: str) -> None:
    (tmp_path / "test_mine.py").write_text(textwrap.dedent(PLUGIN_TESTS).replace("MARK", mark))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    summary = proc.stdout.strip().splitlines()[-1]
    if outcome == "1 failed":
        assert proc.returncode == 1, proc.stdout
        assert "1 failed" in summary and "test_no_unmarked_overrides" in proc.stdout, proc.stdout
    else:
        assert proc.returncode == 0, proc.stdout
        assert "failed" not in summary, proc.stdout
