"""The plugin object the ``vrooli`` entry point names: hook implementations only.

Import nothing expensive here; the navigator module is imported when the host asks for navigators.
"""

from __future__ import annotations

from collections.abc import Iterable

from vrooli_core.plugins import hookimpl


@hookimpl
def vrooli_register_navigators() -> Iterable[type]:
    from vrooli_myformat.navigator import MyFormatNavigator

    return [MyFormatNavigator]
