"""The vrooli-bpmn plugin: registers the BPMN navigators and the script-task strategy."""

from __future__ import annotations

from collections.abc import Iterable

from vrooli_core.plugins import hookimpl


@hookimpl
def vrooli_register_navigators() -> Iterable[type]:
    from vrooli_bpmn.navigator import BpmnNavigator, BpmnTestNavigator

    return [BpmnNavigator, BpmnTestNavigator]


@hookimpl
def vrooli_register_strategies() -> Iterable[type]:
    from vrooli_bpmn.strategy import ScriptStrategy

    return [ScriptStrategy]
