"""The navigator conformance suite: loading (``navigator_load``), then runs through a real engine."""

from __future__ import annotations

from typing import Any

import pytest

from vrooli_core.engine import Engine
from vrooli_core.model import (
    Decision,
    Event,
    OutcomeStatus,
    Run,
    RunStatus,
    WaitKind,
)
from vrooli_core.model.events import StepCompleted, StepStarted, WaitResolved
from vrooli_core.serialization import dumps, loads, make_converter
from vrooli_core.testing.conformance._harness import (
    Recorder,
    executed_steps,
    gapless,
    json_native,
    memory_store,
    overlapping_steps,
    settle,
)
from vrooli_core.testing.conformance._navigator_base import (
    NavigatorSuiteBase,
    decisions,
    live_tokens,
)
from vrooli_core.testing.conformance.navigator_load import NavigatorLoadTests

__all__ = ["NavigatorConformance"]


class NavigatorConformance(NavigatorLoadTests, NavigatorSuiteBase, suite=True):
    """Standard tests for a :class:`~vrooli_core.engine.Navigator` plugin.

    Subclass it as ``Test…`` and supply:

    ``navigator_class``  (required) the navigator
    ``sequence_source``  (required) a routine of at least two steps in order that completes without
                         people, timers or messages
    ``parallel_source``  a routine that splits into two branches and joins them (``None``: the tests
                         that need it are skipped, naming this property)
    ``human_source``     a routine that waits on exactly one human task and completes once it is
                         answered with ``human_answer``
    ``invalid_sources``  (required) ``(source, text)`` pairs: loading must raise ``RoutineError``
                         whose message contains ``text`` (an element id, or any text; ``None``: any)
    ``tools``            the tools the sample routines call (functions decorated with ``@tool``)
    ``inputs``           the inputs every sample run is started with (default ``{}``)
    ``human_answer``     what the human task is answered with (default ``{"approved": True}``)
    ``delegating``       defaults to ``navigator_class.delegating``

    Every run goes through a real :class:`~vrooli_core.engine.Engine` on a ``memory://…?verify=1``
    store (everything recorded round-trips through JSON) with a fake clock.

    Delegating navigators (DESIGN §3.1: they run a foreign runtime inside ``delegate`` steps) run
    every standard test except those that inspect the engine's tokens, which the foreign runtime
    replaces: ``test_sequence_moves_one_token_at_a_time`` and ``test_parallel_branches_are_tokens``
    are skipped for them, with that reason. ``test_delegate_steps_record_substeps`` applies to
    delegating navigators only. For a delegating navigator, the steps a run "records" are the foreign
    steps it reports with ``ctx.substep`` (``step.substep`` events).
    """

    # -- running ------------------------------------------------------------------------------

    def test_sequence_completes_in_order(self) -> None:
        """The sequence completes with at least two steps recorded, one after the other, in the
        same order every time; the log is gapless."""

        async def body(engine: Engine, rec: Recorder) -> tuple[Run, list[Event]]:
            run = await self._run(engine, self.sequence_source)
            return run, await engine.history(run.id)

        run, events = self._run_engine(body)
        self._assert_completed(run, events)
        assert gapless(events), f"the log has gaps: {[e.seq for e in events]}"
        steps = executed_steps(events)
        assert len(steps) >= 2, f"sequence_source recorded {len(steps)} step(s), {steps}; it needs at least two"
        assert len(set(steps)) >= 2, f"sequence_source recorded only one distinct step: {steps}"
        assert run.steps >= len(steps), f"the run counts {run.steps} steps but recorded {steps}"
        assert not overlapping_steps(events), f"steps of the sequence overlapped: {overlapping_steps(events)}"
        _, again = self._run_engine(body)
        assert executed_steps(again) == steps, "a second run of the sequence recorded its steps in another order"

    def test_sequence_moves_one_token_at_a_time(self) -> None:
        """Every step of the sequence runs on its own token, and at most one token is live at once."""
        self._native_only("its foreign runtime, not the engine's tokens, moves through the sequence")

        async def body(engine: Engine, rec: Recorder) -> list[Event]:
            run = await self._run(engine, self.sequence_source)
            return await engine.history(run.id)

        events = self._run_engine(body)
        live = live_tokens(events)
        assert max(len(t) for t in live) == 1, f"the sequence had several live tokens at once: {max(live, key=len)}"
        tokens = [e.payload.token for e in events if isinstance(e.payload, StepCompleted)]
        assert len(set(tokens)) == len(tokens) >= 2, f"steps did not each run on their own token: {tokens}"

    def test_decisions_are_serialisable(self) -> None:
        """Every decision the navigator makes (its private state, token data, variables) is plain
        JSON, and every recorded event round-trips through ``vrooli_core.serialization``."""

        async def body(engine: Engine, rec: Recorder) -> list[tuple[list[Event], list[Event]]]:
            logs = []
            for prop, source in self.samples().items():
                run = await self._run(engine, source)
                if prop == "human_source":
                    run = await self._complete_human(engine, run)
                logs.append((rec.of(run.id), await engine.history(run.id)))
            return logs

        conv = make_converter()
        for live, stored in self._run_engine(body):
            assert len(live) == len(stored)
            for ev in live:
                for decision in decisions(ev):
                    assert json_native(dict(decision.state)), (
                        f"event {ev.seq} ({ev.type}): navigator state is not plain JSON: {decision.state!r}"
                    )
                    assert json_native(dict(decision.variables)), (
                        f"event {ev.seq} ({ev.type}): variables are not plain JSON: {decision.variables!r}"
                    )
                    for new in decision.create:
                        assert json_native(dict(new.data)), (
                            f"event {ev.seq} ({ev.type}): token data is not plain JSON: {new.data!r}"
                        )
                    assert loads(conv, dumps(conv, decision, Decision), Decision) == decision, (
                        f"event {ev.seq}: the decision does not round-trip"
                    )
            for ev, back in zip(live, stored, strict=True):
                assert loads(conv, dumps(conv, ev, Event), Event) == back, (
                    f"event {ev.seq} ({ev.type}) was not recorded as published"
                )

    def test_interleaved_runs_do_not_interfere(self) -> None:
        """Two runs of the sequence moving at the same time in one engine (sharing one navigator
        instance) complete with the same steps and outputs as each other."""

        async def body(engine: Engine, rec: Recorder) -> list[tuple[Run, list[str]]]:
            started = [await engine.start(self._for_engine(self.sequence_source), dict(self.inputs)) for _ in range(2)]
            runs = [await settle(engine, r.id, self.timeout) for r in started]
            return [(run, executed_steps(await engine.history(run.id))) for run in runs]

        (a, steps_a), (b, steps_b) = self._run_engine(body, checks=True)
        assert a.status is RunStatus.COMPLETED and b.status is RunStatus.COMPLETED, (a.error, b.error)
        assert steps_a == steps_b, f"interleaved runs recorded different steps: {steps_a} / {steps_b}"
        assert a.outputs == b.outputs, f"interleaved runs gave different outputs: {a.outputs} / {b.outputs}"

    def test_interleaved_human_runs_do_not_interfere(self) -> None:
        """Two runs wait on their human tasks together; answered in the opposite order they were
        started, each completes exactly like a run on its own."""
        source = self._require("human_source")

        async def body(engine: Engine, rec: Recorder) -> list[tuple[Run, list[str]]]:
            alone = await self._complete_human(engine, await self._run(engine, source))
            first, second = await self._run(engine, source), await self._run(engine, source)
            assert first.status is RunStatus.WAITING and second.status is RunStatus.WAITING, (
                first.status,
                second.status,
            )
            second = await self._complete_human(engine, second)
            first = await self._complete_human(engine, first)
            return [(r, executed_steps(await engine.history(r.id))) for r in (alone, first, second)]

        (alone, steps), *others = self._run_engine(body)
        assert alone.status is RunStatus.COMPLETED, alone.error
        for run, run_steps in others:
            assert run.status is RunStatus.COMPLETED, run.error
            assert run_steps == steps, f"an interleaved run recorded {run_steps}, a run on its own {steps}"
            assert run.outputs == alone.outputs

    def test_human_task_survives_restart(self) -> None:
        """The human routine waits on one task; a second engine opened on the same store (a
        restart) finds the task, and answering it there completes the run without repeating any
        step that completed before the restart."""
        source = self._require("human_source")

        async def before(engine: Engine, rec: Recorder) -> tuple[Run, list[Event], list[Any]]:
            run = await self._run(engine, source)
            return run, await engine.history(run.id), await engine.tasks(run.id)

        async def after(engine: Engine, rec: Recorder, run_id: str) -> tuple[Run, list[Event], list[Any], list[Any]]:
            tasks = await engine.tasks(run_id)
            run = await self._complete_human(engine, await engine.get_run(run_id))
            return run, await engine.history(run_id), tasks, await engine.tasks(run_id)

        with memory_store() as url:
            waiting, early, tasks = self._run_engine(before, url)
            assert waiting.status is RunStatus.WAITING, (
                f"human_source should wait on a person, it is {waiting.status} ({waiting.error})"
            )
            assert len(tasks) == 1 and tasks[0].spec.kind is WaitKind.HUMAN, f"expected one human task, found {tasks}"
            run, events, found, left = self._run_engine(lambda e, r: after(e, r, waiting.id), url)
        assert [t.id for t in found] == [tasks[0].id], "the restarted engine does not see the open task"
        self._assert_completed(run, events)
        assert events[: len(early)] == early, "the history recorded before the restart changed"
        assert gapless(events), f"the log has gaps: {[e.seq for e in events]}"
        assert not left, f"tasks are still open after the run completed: {left}"
        done_before = {
            e.payload.token
            for e in early
            if isinstance(e.payload, StepCompleted) and e.payload.outcome.status is not OutcomeStatus.SUSPENDED
        }
        rerun = [
            e.payload.step
            for e in events[len(early) :]
            if isinstance(e.payload, (StepStarted, StepCompleted)) and e.payload.token in done_before
        ]
        assert not rerun, f"steps that completed before the restart ran again: {rerun}"
        resolved = [e for e in events if isinstance(e.payload, WaitResolved) and e.payload.wait_id == tasks[0].id]
        assert len(resolved) == 1, "the task's answer was not recorded exactly once"

    def test_parallel_completes(self) -> None:
        """The parallel routine completes, recording the steps of both branches."""
        source = self._require("parallel_source")
        assert self.navigator_class.supports_parallel, "parallel_source is given but supports_parallel is False"

        async def body(engine: Engine, rec: Recorder) -> tuple[Run, list[Event]]:
            run = await self._run(engine, source)
            return run, await engine.history(run.id)

        run, events = self._run_engine(body)
        self._assert_completed(run, events)
        assert gapless(events)
        assert len(executed_steps(events)) >= 2, f"the parallel routine recorded {executed_steps(events)}"

    def test_parallel_branches_are_tokens(self) -> None:
        """The parallel split creates at least two live tokens at once, and each of them completes a
        step before the branches join."""
        self._native_only("its branches run inside its foreign runtime, not as engine tokens")
        source = self._require("parallel_source")

        async def body(engine: Engine, rec: Recorder) -> list[Event]:
            run = await self._run(engine, source)
            return await engine.history(run.id)

        events = self._run_engine(body)
        widest = max(live_tokens(events), key=len)
        assert len(widest) >= 2, "no two tokens were ever live at once: the branches did not run in parallel"
        completed = {e.payload.token for e in events if isinstance(e.payload, StepCompleted)}
        assert widest <= completed, f"branch tokens {sorted(widest - completed)} never completed a step"

    def test_delegate_steps_record_substeps(self) -> None:
        """Delegating navigators report each foreign step (``ctx.substep``), so limits and safety
        checks apply between them: the sequence records at least two of them."""
        if not self.delegating:
            pytest.skip("applies to delegating navigators only (navigator_class.delegating is False)")

        async def body(engine: Engine, rec: Recorder) -> list[Event]:
            run = await self._run(engine, self.sequence_source)
            return await engine.history(run.id)

        events = self._run_engine(body)
        substeps = [s for s in executed_steps(events) if "/" in s]
        assert len(substeps) >= 2, f"the sequence recorded {len(substeps)} foreign steps: {substeps}"
