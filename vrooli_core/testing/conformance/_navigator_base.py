"""What the navigator conformance tests share: the properties a subclass supplies, and helpers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs
import pytest

from vrooli_core.engine import Engine, Navigator
from vrooli_core.engine.state import apply, replay
from vrooli_core.execution.safety import ALLOW, SafetyCheck, SafetyPoint, SafetyRequest, SafetyResult
from vrooli_core.model import (
    Decision,
    Event,
    RoutineSource,
    Run,
    RunStatus,
)
from vrooli_core.model.events import Decided, StepCompleted, WaitResolved
from vrooli_core.testing.conformance._harness import (
    Recorder,
    host_with,
    memory_store,
    open_engine,
)
from vrooli_core.testing.conformance.base import ConformanceSuite


class _Checkpoint(SafetyCheck):
    """Yields to the event loop before every step, so runs that move together really interleave."""

    name = "conformance-checkpoint"
    points = frozenset({SafetyPoint.BEFORE_STEP})

    async def check(self, request: SafetyRequest) -> SafetyResult:
        import anyio.lowlevel

        await anyio.lowlevel.checkpoint()
        return ALLOW


class NavigatorSuiteBase(ConformanceSuite, suite=True):
    """The properties a navigator suite subclass supplies (documented on ``NavigatorConformance``)."""

    # -- what a subclass supplies -------------------------------------------------------------

    @property
    def navigator_class(self) -> type[Navigator]:
        raise NotImplementedError(f"{type(self).__name__} must define the navigator_class property")

    @property
    def sequence_source(self) -> RoutineSource:
        raise NotImplementedError(f"{type(self).__name__} must define the sequence_source property")

    @property
    def parallel_source(self) -> RoutineSource | None:
        return None

    @property
    def human_source(self) -> RoutineSource | None:
        return None

    @property
    def invalid_sources(self) -> list[tuple[RoutineSource, str | None]]:
        raise NotImplementedError(f"{type(self).__name__} must define the invalid_sources property")

    @property
    def tools(self) -> list[Any]:
        return []

    @property
    def inputs(self) -> Mapping[str, Any]:
        return {}

    @property
    def human_answer(self) -> Any:
        return {"approved": True}

    @property
    def delegating(self) -> bool:
        return bool(self.navigator_class.delegating)

    # -- helpers ------------------------------------------------------------------------------

    def navigator(self) -> Navigator:
        return self.navigator_class()

    def samples(self) -> dict[str, RoutineSource]:
        """The sample sources that were supplied, by property name."""
        found = {"sequence_source": self.sequence_source}
        for prop in ("parallel_source", "human_source"):
            source = getattr(self, prop)
            if source is not None:
                found[prop] = source
        return found

    def _for_engine(self, source: RoutineSource) -> RoutineSource:
        return attrs.evolve(source, format=self.navigator_class.name)

    def _require(self, prop: str) -> RoutineSource:
        source = getattr(self, prop)
        if source is None:
            pytest.skip(f"{type(self).__name__}.{prop} is None: the navigator supplied no such sample routine")
        return source  # type: ignore[no-any-return]

    def _native_only(self, reason: str) -> None:
        if self.delegating:
            pytest.skip(f"does not apply to delegating navigators: {reason}")

    def _run_engine(
        self, body: Callable[[Engine, Recorder], Awaitable[Any]], store: str | None = None, *, checks: bool = False
    ) -> Any:
        """Run ``body(engine, recorder)`` on a fresh engine (on ``store``, or a throwaway one)."""

        async def main(url: str) -> Any:
            host = host_with(navigators=[self.navigator_class], safety_checks=[_Checkpoint] if checks else [])
            async with open_engine(url, host, tools=self.tools) as engine:
                recorder = Recorder(engine)
                try:
                    return await body(engine, recorder)
                finally:
                    recorder.close()

        if store is not None:
            return self.run_async(main, store)
        with memory_store() as url:
            return self.run_async(main, url)

    async def _run(self, engine: Engine, source: RoutineSource) -> Run:
        import anyio

        with anyio.fail_after(self.timeout):
            return await engine.run(self._for_engine(source), dict(self.inputs))

    async def _complete_human(self, engine: Engine, run: Run) -> Run:
        import anyio

        tasks = await engine.tasks(run.id)
        assert len(tasks) == 1, f"human_source should wait on exactly one task, found {len(tasks)}: {tasks}"
        with anyio.fail_after(self.timeout):
            return await engine.complete_task(tasks[0].id, self.human_answer)

    @staticmethod
    def _assert_completed(run: Run, events: list[Event]) -> None:
        assert run.status is RunStatus.COMPLETED, (
            f"the run ended {run.status} ({run.error}); its events: {[e.type for e in events]}"
        )


def live_tokens(events: list[Event]) -> list[frozenset[str]]:
    """The set of live tokens after each event of a run (rebuilt with the engine's reducer)."""
    state = replay(events[0].run_id, events[:1])
    found = []
    for ev in events[1:]:
        apply(state, ev)
        found.append(frozenset(state.tokens))
    return found or [frozenset()]


def decisions(ev: Event) -> list[Decision]:
    """The decisions an event records (none, or one)."""
    p = ev.payload
    if isinstance(p, (Decided, StepCompleted, WaitResolved)) and p.decision is not None:
        return [p.decision]
    return []
