"""The vrooli-langgraph plugin: registers the ``langgraph`` navigator."""

from __future__ import annotations

from collections.abc import Iterable

from vrooli_core.plugins import hookimpl


@hookimpl
def vrooli_register_navigators() -> Iterable[type]:
    from vrooli_langgraph.navigator import LangGraphNavigator

    return [LangGraphNavigator]
