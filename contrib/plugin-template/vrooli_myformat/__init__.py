"""vrooli-myformat: runs ``.steps.txt`` routines on the vrooli engine.

Kept free of imports: the host imports :mod:`vrooli_myformat.plugin` on every start, and that
imports this package first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["MyFormatNavigator"]

if TYPE_CHECKING:
    from vrooli_myformat.navigator import MyFormatNavigator


def __getattr__(name: str) -> Any:
    if name == "MyFormatNavigator":
        from vrooli_myformat.navigator import MyFormatNavigator

        return MyFormatNavigator
    raise AttributeError(f"module 'vrooli_myformat' has no attribute {name!r}")
