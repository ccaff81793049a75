"""The analyzer conformance suite."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio
import pytest

from vrooli_core.analysis import Analyzer, Finding, History, Proposal
from vrooli_core.engine import Engine, Navigator
from vrooli_core.model import RoutineSource
from vrooli_core.serialization import dumps, loads, make_converter
from vrooli_core.storage.base import StorageBackend
from vrooli_core.testing.conformance._harness import host_with, memory_store, open_engine
from vrooli_core.testing.conformance.base import ConformanceSuite

__all__ = ["AnalyzerConformance"]


class AnalyzerConformance(ConformanceSuite, suite=True):
    """Standard tests for an :class:`~vrooli_core.analysis.Analyzer` plugin.

    Subclass it as ``Test…`` and supply a history the analyzer must find something in:

    ``analyzer_class``   (required) the analyzer; instantiated without arguments
    ``history_source``   (required) a routine, run once per entry of ``history_inputs``
    ``history_inputs``   the inputs of those runs (default: one run with ``{}``); runs that fail
                         are part of the history too
    ``tools``            tools the routine calls
    ``navigators``       navigator classes the routine needs (default: the flow test navigator)
    ``expected_kinds``   finding kinds that must be among the results (default: any result will do)
    ``proposes``         whether the analyzer must propose a new routine version for this history
    ``record_history(engine)``  async; override it to build a history the defaults cannot (answer
                         tasks, send messages); returns the id of the routine to analyze

    An analyzer reads history and says something about it; with no history it says nothing.
    """

    @property
    def analyzer_class(self) -> type[Analyzer]:
        raise NotImplementedError(f"{type(self).__name__} must define the analyzer_class property")

    @property
    def history_source(self) -> RoutineSource:
        raise NotImplementedError(f"{type(self).__name__} must define history_source (or override record_history)")

    @property
    def history_inputs(self) -> list[Mapping[str, Any]]:
        return [{}]

    @property
    def tools(self) -> list[Any]:
        return []

    @property
    def navigators(self) -> list[type[Navigator]]:
        from vrooli_core.testing.flow import FlowNavigator

        return [FlowNavigator]

    @property
    def expected_kinds(self) -> set[str]:
        return set()

    @property
    def proposes(self) -> bool:
        return False

    async def record_history(self, engine: Engine) -> str:
        """Run ``history_source`` once per ``history_inputs`` entry; returns the routine id."""
        routine = await engine.load(self.history_source)
        for inputs in self.history_inputs:
            await engine.run(routine, dict(inputs))
        return routine.id

    # -- helpers ------------------------------------------------------------------------------

    def _analyze(
        self, *, history: bool = True, routine: str | None = None
    ) -> tuple[str | None, list[Any], dict[str, Any]]:
        """Record the history (unless ``history=False``) and analyze it. Returns the routine id,
        the results, and what storage held before and after the analysis."""

        async def main(url: str) -> tuple[str | None, list[Any], dict[str, Any]]:
            host = host_with(navigators=self.navigators)
            async with open_engine(url, host, tools=self.tools) as engine:
                with anyio.fail_after(self.timeout):
                    routine_id = await self.record_history(engine) if history else None
                    before = await _contents(engine.storage)
                    results = await self.analyzer_class().analyze(
                        History(engine.storage), routine if routine is not None else routine_id
                    )
                    results = list(results)
                    after = await _contents(engine.storage)
            return routine_id, results, {"before": before, "after": after}

        with memory_store() as url:
            return self.run_async(main, url)

    # -- tests --------------------------------------------------------------------------------

    def test_name(self) -> None:
        cls = self.analyzer_class
        assert isinstance(getattr(cls, "name", None), str) and cls.name, "an analyzer needs a non-empty name"
        assert isinstance(cls(), Analyzer)
        assert host_with(analyzers=[cls]).analyzers()[cls.name] is cls

    def test_finds_something(self) -> None:
        """The history holds something worth saying: the analyzer returns findings or proposals
        about the analyzed routine, including every expected kind."""
        routine_id, results, _ = self._analyze()
        assert results, "the analyzer found nothing in a history it should find something in"
        for result in results:
            assert isinstance(result, (Finding, Proposal)), f"{result!r} is neither a Finding nor a Proposal"
            assert result.routine_id == routine_id, (
                f"a result is about {result.routine_id!r}, not the analyzed {routine_id!r}"
            )
        kinds = {r.kind for r in results if isinstance(r, Finding)}
        assert self.expected_kinds <= kinds, (
            f"missing finding kinds {sorted(self.expected_kinds - kinds)} (found {sorted(kinds)})"
        )

    def test_findings_are_readable(self) -> None:
        for result in self._analyze()[1]:
            if isinstance(result, Finding):
                assert result.kind.strip() and result.message.strip(), (
                    f"a finding needs a kind and a message: {result!r}"
                )
                assert result.severity in ("info", "warning", "error", "critical"), (
                    f"unknown severity {result.severity!r}"
                )

    def test_results_are_serialisable(self) -> None:
        """Findings and proposals are stored and shown later: they round-trip through JSON."""
        conv = make_converter()
        for result in self._analyze()[1]:
            assert loads(conv, dumps(conv, result, type(result)), type(result)) == result, (
                f"{result!r} does not round-trip"
            )

    def test_only_reads_history(self) -> None:
        """Analyzing writes nothing: runs, events and waits are the same afterwards."""
        _, _, contents = self._analyze()
        assert contents["after"] == contents["before"], "the analyzer changed the stored history"

    def test_other_routine_gives_nothing_about_this_one(self) -> None:
        """Asked about another routine, the analyzer says nothing about the one in the history."""
        routine_id, results, _ = self._analyze(routine="conformance-no-such-routine")
        about = [r for r in results if r.routine_id == routine_id]
        assert not about, f"asked about another routine, the analyzer reported on {routine_id!r}: {about}"

    def test_empty_history_gives_nothing(self) -> None:
        _, results, _ = self._analyze(history=False)
        assert results == [], f"with no history the analyzer still reported {results}"

    def test_proposals_load(self) -> None:
        """Proposed versions are routines a navigator can load, based on a stored version."""
        if not self.proposes:
            pytest.skip(f"{type(self).__name__}.proposes is False: the analyzer proposes no versions for this history")

        async def main(url: str) -> list[str]:
            host = host_with(navigators=self.navigators)
            async with open_engine(url, host, tools=self.tools) as engine:
                routine_id = await self.record_history(engine)
                versions = {r.version for r in await engine.storage.list_routines(routine_id)}
                proposals = [
                    r
                    for r in await self.analyzer_class().analyze(History(engine.storage), routine_id)
                    if isinstance(r, Proposal)
                ]
                assert proposals, "proposes is True, but the analyzer proposed nothing"
                loaded = []
                for p in proposals:
                    assert p.base_version in versions, (
                        f"proposal based on unknown version {p.base_version!r} (stored: {sorted(versions)})"
                    )
                    assert p.rationale.strip(), "a proposal needs a rationale"
                    routine = await engine.load(RoutineSource(p.source, None, p.format))
                    assert routine.id == p.routine_id
                    loaded.append(routine.version)
                return loaded

        with memory_store() as url:
            assert self.run_async(main, url)


async def _contents(storage: StorageBackend) -> dict[str, Any]:
    runs = await storage.list_runs(limit=1_000_000)
    return {
        "routines": await storage.list_routines(),
        "runs": runs,
        "events": {r.id: await storage.read_events(r.id) for r in runs},
        "waits": await storage.find_waits(),
    }
