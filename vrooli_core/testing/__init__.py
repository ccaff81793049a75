"""Test kit for vrooli and its plugins: fakes, the flow test navigator, conformance suites.

Opt in to the pytest fixtures with ``pytest_plugins = ["vrooli_core.testing.pytest_plugin"]`` (or
``-p vrooli_core.testing.pytest_plugin``); the suites are in :mod:`vrooli_core.testing.conformance`.
Attributes are imported on first use, so importing the flow navigator stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "FakeClock": "vrooli_core.clock",
    "FlowNavigator": "vrooli_core.testing.flow",
    "FakeModelStrategy": "vrooli_core.testing.fakes",
    "FakeStepServices": "vrooli_core.testing.fakes",
    "ModelCall": "vrooli_core.testing.fakes",
    "ModelReply": "vrooli_core.testing.fakes",
    "fake_storage": "vrooli_core.testing.fakes",
    "step_context": "vrooli_core.testing.fakes",
    "CapabilityPlugin": "vrooli_core.testing.hosts",
    "flow_plugin": "vrooli_core.testing.hosts",
    "make_host": "vrooli_core.testing.hosts",
    "registered_plugin": "vrooli_core.testing.hosts",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'vrooli_core.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
