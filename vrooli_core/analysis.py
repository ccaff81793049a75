"""The Analyzer contract: read run history, return findings and proposed routine versions."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import attrs

from vrooli_core.model import Event, Run
from vrooli_core.storage.base import StorageBackend


@attrs.frozen
class Finding:
    """Something an analyzer noticed (a bottleneck, a failure cluster, a cost hot spot)."""

    kind: str
    message: str
    routine_id: str
    severity: str = "info"
    step: str | None = None
    data: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class Proposal:
    """A proposed new routine version (run side by side with the current one before promotion)."""

    routine_id: str
    base_version: str
    format: str
    source: str
    rationale: str


class History:
    """Read access to run history for analyzers."""

    def __init__(self, storage: StorageBackend) -> None:
        self.storage = storage

    async def runs(self, routine_id: str | None = None, limit: int = 1000) -> list[Run]:
        return await self.storage.list_runs(routine_id=routine_id, limit=limit)

    async def events(self, run_id: str) -> list[Event]:
        return await self.storage.read_events(run_id)


class Analyzer(abc.ABC):
    name: ClassVar[str]

    @abc.abstractmethod
    async def analyze(self, history: History, routine_id: str | None = None) -> Iterable[Finding | Proposal]:
        """Findings and proposals about ``routine_id`` (or every routine)."""
