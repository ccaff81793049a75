"""Conformance suites: standard tests a plugin runs by subclassing a suite and supplying a few
properties (see ``docs/testing.md``). Importing this package needs pytest."""

from vrooli_core.testing.conformance.base import ConformanceSuite, find_unmarked_overrides, standard_tests
from vrooli_core.testing.conformance.navigator import NavigatorConformance
from vrooli_core.testing.conformance.storage import StorageConformance

__all__ = [
    "ConformanceSuite",
    "NavigatorConformance",
    "StorageConformance",
    "find_unmarked_overrides",
    "standard_tests",
]
