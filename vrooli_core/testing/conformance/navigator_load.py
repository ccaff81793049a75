"""Navigator conformance, part one: loading and the navigator's answers without an engine."""

from __future__ import annotations

import inspect

import attrs
import pytest

from vrooli_core.engine import Navigator, RunView
from vrooli_core.errors import ExpressionError, RoutineError
from vrooli_core.model import (
    Decision,
    Graph,
    IOMapping,
    RoutineSource,
    StepDef,
    StepKind,
    WaitKind,
    WaitSpec,
)
from vrooli_core.testing.conformance._navigator_base import NavigatorSuiteBase

__all__ = ["NavigatorLoadTests"]


class NavigatorLoadTests(NavigatorSuiteBase, suite=True):
    """Loading, accepting, io and start (part of ``NavigatorConformance``)."""

    # -- loading ------------------------------------------------------------------------------

    def test_load_gives_graph(self) -> None:
        """``load`` returns a Graph whose routine names the navigator and the source's content hash,
        with steps keyed by their ids."""
        nav = self.navigator()
        for prop, source in self.samples().items():
            graph = nav.load(source)
            assert isinstance(graph, Graph), f"{prop}: load returned {type(graph).__name__}, not a Graph"
            routine = graph.routine
            assert isinstance(routine.id, str) and routine.id, f"{prop}: the routine has no id"
            assert routine.format == self.navigator_class.name, (
                f"{prop}: format {routine.format!r} is not the navigator's name"
            )
            assert routine.content_hash == source.content_hash, (
                f"{prop}: content_hash is not RoutineSource.content_hash"
            )
            assert graph.steps, f"{prop}: the graph has no steps"
            for key, step in graph.steps.items():
                assert isinstance(step, StepDef), f"{prop}: step {key!r} is a {type(step).__name__}, not a StepDef"
                assert step.id == key, f"{prop}: step {step.id!r} is stored under {key!r}"
                assert isinstance(step.kind, StepKind), f"{prop}: step {key!r} has kind {step.kind!r}"

    def test_load_is_deterministic(self) -> None:
        """Loading a source twice gives the same routine and the same steps in the same order."""
        for prop, source in self.samples().items():
            one, two = self.navigator().load(source), self.navigator().load(source)
            assert one.routine == two.routine, f"{prop}: two loads gave different routines"
            assert list(one.steps.items()) == list(two.steps.items()), f"{prop}: two loads gave different steps"

    def test_accepts_sample_sources(self) -> None:
        """``accepts`` claims every sample source that has a path (format not given)."""
        with_path = {p: attrs.evolve(s, format=None) for p, s in self.samples().items() if s.path}
        if not with_path:
            pytest.skip("none of the sample sources has a path, so accepts() cannot be checked against them")
        nav = self.navigator()
        for prop, source in with_path.items():
            assert nav.accepts(source), f"{prop}: accepts() does not claim {source.path!r}"

    def test_does_not_accept_foreign_files(self) -> None:
        """``accepts`` does not claim an empty file of an unknown type (it would shadow other formats)."""
        assert not self.navigator().accepts(RoutineSource("", "notes.conformance-unknown-format"))

    def test_invalid_sources_raise_routine_error(self) -> None:
        """Every invalid source raises ``RoutineError``, and its message names the problem."""
        invalid = self.invalid_sources
        assert invalid, "invalid_sources is empty: give at least one source the navigator must refuse"
        for source, needle in invalid:
            with pytest.raises(RoutineError) as info:
                self.navigator().load(source)
            if needle is not None:
                assert needle in str(info.value), f"{needle!r} does not appear in the error: {info.value}"

    def test_io_of_every_step(self) -> None:
        """``io(graph, step)`` answers an IOMapping for every step."""
        nav = self.navigator()
        for prop, source in self.samples().items():
            graph = nav.load(source)
            for sid in graph.steps:
                assert isinstance(nav.io(graph, sid), IOMapping), f"{prop}: io() of step {sid!r} is not an IOMapping"

    def test_step_kinds_match_mode(self) -> None:
        """Native navigators have no ``delegate`` steps (nothing would run them); delegating ones
        have at least one and implement ``execute``."""
        nav = self.navigator()
        kinds = {p: {s.kind for s in nav.load(src).steps.values()} for p, src in self.samples().items()}
        if self.delegating:
            assert StepKind.DELEGATE in kinds["sequence_source"], (
                "a delegating navigator's sequence has no delegate step"
            )
            assert type(nav).execute is not Navigator.execute, "a delegating navigator must implement execute()"
        else:
            bad = [p for p, ks in kinds.items() if StepKind.DELEGATE in ks]
            assert not bad, (
                f"a native navigator produced delegate steps in {bad} (set delegating = True, or use other kinds)"
            )

    def test_start_is_deterministic(self) -> None:
        """``start`` is a function of its arguments: asked twice about a fresh run, it answers the
        same Decision, and that decision creates at least one token at a step of the graph."""
        nav = self.navigator()
        graph = nav.load(self.sequence_source)

        async def ask() -> Decision:
            view = RunView("conformance-run", graph.routine.id, {}, dict(self.inputs), {}, {})
            decision = nav.start(graph, view)
            return await decision if inspect.isawaitable(decision) else decision

        one, two = self.run_async(ask), self.run_async(ask)
        assert isinstance(one, Decision), f"start returned {type(one).__name__}, not a Decision"
        assert one == two, "start gave two different decisions for the same fresh run"
        assert one.create, "the start decision creates no token"
        unknown = [t.location for t in one.create if t.location not in graph.steps]
        assert not unknown, f"the start decision creates tokens at locations that are not steps: {unknown}"

    # -- start triggers -----------------------------------------------------------------------

    def test_starts_are_well_formed(self) -> None:
        """``starts`` gives message, signal, timer or condition WaitSpecs with unique keys (messages
        and signals named). For a timer start, ``start_due`` is deterministic and answers a time or
        ``None``; a next firing is later than the one before it. For a conditional start,
        ``start_condition_met`` answers a bool (or raises ExpressionError) for no variables."""
        nav = self.navigator()
        now = 1_700_000_000.0
        kinds = (WaitKind.MESSAGE, WaitKind.SIGNAL, WaitKind.TIMER, WaitKind.CONDITION)
        for prop, source in self.samples().items():
            graph = nav.load(source)
            starts = tuple(nav.starts(graph))
            keys = [getattr(s, "key", None) for s in starts]
            assert len(set(keys)) == len(keys), f"{prop}: starts() repeats a key: {keys}"
            for spec in starts:
                assert isinstance(spec, WaitSpec), f"{prop}: starts() gave {spec!r}, not a WaitSpec"
                assert spec.kind in kinds, (
                    f"{prop}: start {spec.key!r} is a {spec.kind} wait (starts are messages, signals, timers and conditions)"
                )
                assert spec.key, f"{prop}: a start trigger has no key (it becomes view.start of its runs)"
                if spec.kind is WaitKind.CONDITION:
                    try:
                        met = nav.start_condition_met(graph, spec, {})
                    except ExpressionError:
                        continue
                    assert isinstance(met, bool), (
                        f"{prop}: start_condition_met of {spec.key!r} gave {met!r}, not a bool"
                    )
                    continue
                if spec.kind is not WaitKind.TIMER:
                    assert spec.name, f"{prop}: {spec.kind} start {spec.key!r} has no name to match"
                    continue
                first = nav.start_due(graph, spec, now)
                assert first == nav.start_due(graph, spec, now), (
                    f"{prop}: start_due of {spec.key!r} is not deterministic"
                )
                if first is None:
                    continue
                assert isinstance(first, (int, float)), f"{prop}: start_due of {spec.key!r} gave {first!r}"
                later = nav.start_due(graph, spec, max(now, first), previous=first, fired=1)
                assert later is None or later > first, (
                    f"{prop}: timer start {spec.key!r} fires at {first}, then at {later} (not later)"
                )
