"""Conformance suites: standard tests a plugin runs by subclassing a suite and supplying a few
properties (see ``docs/testing.md``). Importing this package needs pytest."""

from vrooli_core.testing.conformance.analyzer import AnalyzerConformance
from vrooli_core.testing.conformance.base import ConformanceSuite, Override, find_unmarked_overrides, standard_tests
from vrooli_core.testing.conformance.navigator import NavigatorConformance
from vrooli_core.testing.conformance.safety import SafetyCheckConformance
from vrooli_core.testing.conformance.storage import StorageConformance
from vrooli_core.testing.conformance.strategy import StrategyConformance

__all__ = [
    "AnalyzerConformance",
    "ConformanceSuite",
    "NavigatorConformance",
    "Override",
    "SafetyCheckConformance",
    "StorageConformance",
    "StrategyConformance",
    "find_unmarked_overrides",
    "standard_tests",
]
