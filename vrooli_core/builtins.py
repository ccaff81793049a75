"""The kernel's builtin plugin, registered before any entry point (so plugins can replace a builtin)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from vrooli_core.plugins import hookimpl


@hookimpl
def vrooli_register_storage_backends() -> Iterable[type]:
    from vrooli_core.storage.memory import MemoryStorage

    return [MemoryStorage]


@hookimpl
def vrooli_register_strategies() -> Iterable[type]:
    from vrooli_core.execution.code import CodeStrategy
    from vrooli_core.execution.deterministic import DeterministicStrategy

    return [DeterministicStrategy, CodeStrategy]


@hookimpl
def vrooli_register_safety_checks() -> Iterable[type]:
    from vrooli_core.coordination.permissions import AgentPermissions

    return [AgentPermissions]


@hookimpl
def vrooli_register_navigators() -> Iterable[type]:
    from vrooli_core.coordination.task_routine import TaskRoutineNavigator

    return [TaskRoutineNavigator]


@hookimpl
def vrooli_register_tools() -> Iterable[Any]:
    return []
