"""vrooli: one engine for AI routines, whatever format they were written in.

Attributes are imported on first use, so ``import vrooli_core`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Engine": "vrooli_core.engine",
    "SyncEngine": "vrooli_core.engine",
    "Navigator": "vrooli_core.engine",
    "RunView": "vrooli_core.engine",
    "PathSelector": "vrooli_core.engine",
    "PluginHost": "vrooli_core.plugins",
    "hookimpl": "vrooli_core.plugins",
    "Strategy": "vrooli_core.execution",
    "StepContext": "vrooli_core.execution",
    "SafetyCheck": "vrooli_core.execution",
    "tool": "vrooli_core.execution",
    "ToolSpec": "vrooli_core.execution",
    "StorageBackend": "vrooli_core.storage",
    "Analyzer": "vrooli_core.analysis",
    "Config": "vrooli_core.config",
    "FakeClock": "vrooli_core.clock",
    "SystemClock": "vrooli_core.clock",
}
_MODULES = ("vrooli_core.errors", "vrooli_core.model")

__all__ = [*sorted(_EXPORTS), "errors", "model"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in ("errors", "model"):
        value = importlib.import_module(f"vrooli_core.{name}")
    else:
        for module in _MODULES:
            mod = importlib.import_module(module)
            if hasattr(mod, name) and name in getattr(mod, "__all__", ()):
                value = getattr(mod, name)
                break
        else:
            raise AttributeError(f"module 'vrooli_core' has no attribute {name!r}")
    globals()[name] = value
    return value
