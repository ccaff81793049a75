"""Test kit for vrooli and its plugins: fakes, the flow test navigator, conformance suites.

Opt in with ``pytest_plugins = ["vrooli_core.testing.pytest_plugin"]`` (or ``-p vrooli_core.testing.pytest_plugin``).
"""

from vrooli_core.clock import FakeClock
from vrooli_core.testing.flow import FlowNavigator

__all__ = ["FakeClock", "FlowNavigator"]
