"""The safety check conformance suite."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import anyio
import attrs
import pytest

from vrooli_core.execution.safety import Allow, Deny, Redact, RequireApproval, SafetyCheck, SafetyPoint, SafetyRequest
from vrooli_core.execution.tools import ToolSpec
from vrooli_core.model import RunStatus, StepDef, StepKind
from vrooli_core.model.events import SafetyChecked, StepCompleted
from vrooli_core.testing.conformance._harness import (
    Recorder,
    host_with,
    memory_store,
    open_engine,
    single_step_navigator,
    single_step_source,
)
from vrooli_core.testing.conformance.base import ConformanceSuite

__all__ = ["SafetyCheckConformance"]

ECHO = ToolSpec(name="conformance_echo", fn=lambda **kwargs: kwargs, parameters={"type": "object"})
ECHO_STEP = StepDef("checked", kind=StepKind.TOOL, config={"tool": ECHO.name})


class SafetyCheckConformance(ConformanceSuite, suite=True):
    """Standard tests for a :class:`~vrooli_core.execution.SafetyCheck` plugin.

    Subclass it as ``Test…`` and supply requests (:class:`~vrooli_core.execution.SafetyRequest`)
    the check must judge:

    ``check_class``        (required) the check; the engine instantiates it without arguments
    ``allowed``            (required) requests it allows
    ``denied``             requests it denies (with a reason)
    ``redacted``           ``(request, expected value)`` pairs it redacts
    ``approval_required``  requests it hands to a person

    The optional lists may be empty (their test is skipped, naming the property), but a check
    that does none of deny, redact or require approval is not a safety check: at least one must be
    given. Requests at ``before_step`` whose value is a mapping (a step's inputs) are also run
    through a real engine: a run whose one step is checked must complete, fail with
    ``safety_denied``, use the redacted inputs, or wait for an approval, as the check says.
    """

    @property
    def check_class(self) -> type[SafetyCheck]:
        raise NotImplementedError(f"{type(self).__name__} must define the check_class property")

    @property
    def allowed(self) -> list[SafetyRequest]:
        raise NotImplementedError(f"{type(self).__name__} must define the allowed property")

    @property
    def denied(self) -> list[SafetyRequest]:
        return []

    @property
    def redacted(self) -> list[tuple[SafetyRequest, Any]]:
        return []

    @property
    def approval_required(self) -> list[SafetyRequest]:
        return []

    # -- helpers ------------------------------------------------------------------------------

    def make_check(self) -> SafetyCheck:
        return self.check_class()

    def _all(self) -> list[tuple[str, SafetyRequest, Any]]:
        return (
            [("allow", r, None) for r in self.allowed]
            + [("deny", r, None) for r in self.denied]
            + [("redact", r, v) for r, v in self.redacted]
            + [("require_approval", r, None) for r in self.approval_required]
        )

    def _judge(self, request: SafetyRequest) -> Any:
        async def main() -> Any:
            with anyio.fail_after(self.timeout):
                return await self.make_check().check(request)

        return self.run_async(main)

    def _nonempty(self, prop: str) -> list[Any]:
        items: list[Any] = getattr(self, prop)
        if not items:
            pytest.skip(f"{type(self).__name__}.{prop} is empty: the check has no sample requests of that kind")
        return items

    # -- tests --------------------------------------------------------------------------------

    def test_name_and_points(self) -> None:
        cls = self.check_class
        assert isinstance(getattr(cls, "name", None), str) and cls.name, "a safety check needs a non-empty name"
        assert cls.points and all(isinstance(p, SafetyPoint) for p in cls.points), (
            f"points must be SafetyPoints, got {cls.points!r}"
        )
        assert isinstance(self.make_check(), SafetyCheck)
        assert host_with(safety_checks=[cls]).safety_checks()[cls.name] is cls

    def test_samples_are_at_points_the_check_declares(self) -> None:
        """The engine only consults a check at the points it declares; samples elsewhere would test
        something that never happens."""
        assert self.allowed, "allowed is empty: give at least one request the check allows"
        assert self.denied or self.redacted or self.approval_required, (
            "give at least one request the check denies, redacts or hands to a person"
        )
        for action, request, _ in self._all():
            assert request.point in self.check_class.points, (
                f"a {action} sample is at {request.point}, which the check does not declare"
            )

    def test_allows(self) -> None:
        for request in self.allowed:
            result = self._judge(request)
            assert isinstance(result, Allow), f"expected allow for {request.value!r} at {request.point}, got {result!r}"

    def test_denies(self) -> None:
        for request in self._nonempty("denied"):
            result = self._judge(request)
            assert isinstance(result, Deny), f"expected deny for {request.value!r} at {request.point}, got {result!r}"
            assert result.reason.strip(), "a denial needs a reason people can read"

    def test_redacts(self) -> None:
        for request, expected in self._nonempty("redacted"):
            result = self._judge(request)
            assert isinstance(result, Redact), (
                f"expected a redaction of {request.value!r} at {request.point}, got {result!r}"
            )
            assert result.value == expected, f"redacted to {result.value!r}, expected {expected!r}"

    def test_requires_approval(self) -> None:
        for request in self._nonempty("approval_required"):
            result = self._judge(request)
            assert isinstance(result, RequireApproval), (
                f"expected require_approval for {request.value!r}, got {result!r}"
            )
            assert result.reason.strip(), "an approval request needs a reason the approver can read"

    def test_does_not_change_the_value(self) -> None:
        """A check returns a new value to redact; it never edits the value it was given."""
        for action, request, _ in self._all():
            before = copy.deepcopy(request.value)
            self._judge(request)
            assert request.value == before, f"the check changed the value of a {action} sample"

    def test_is_deterministic(self) -> None:
        for action, request, _ in self._all():
            assert self._judge(request) == self._judge(request), f"two answers to the same {action} sample differ"

    def test_engine_applies_the_results(self) -> None:
        """Each ``before_step`` sample with a mapping value, checked by a real engine on a run whose
        one step has those inputs, ends as the check says."""
        samples = [
            (action, r, v)
            for action, r, v in self._all()
            if r.point is SafetyPoint.BEFORE_STEP
            and isinstance(r.value, Mapping)
            and (action != "redact" or isinstance(v, Mapping))
        ]
        if not samples:
            pytest.skip("no sample is at before_step with a mapping value (step inputs), so none can run in an engine")
        only_before_step = type(
            self.check_class.__name__,
            (self.check_class,),
            {"points": frozenset({SafetyPoint.BEFORE_STEP}), "__module__": self.check_class.__module__},
        )
        for action, request, expected in samples:
            step = (
                attrs.evolve(request.step, config={**request.step.config, "tool": ECHO.name})
                if request.step and request.step.kind is StepKind.TOOL
                else ECHO_STEP
            )
            self._engine_case(only_before_step, step, action, request, expected)

    def _engine_case(
        self, check: type[SafetyCheck], step: StepDef, action: str, request: SafetyRequest, expected: Any
    ) -> None:
        navigator = single_step_navigator(attrs.evolve(step, io=attrs.evolve(step.io, inputs=None)))

        async def main(url: str) -> tuple[Any, list[Any], list[Any], Any]:
            host = host_with(navigators=[navigator], safety_checks=[check])
            async with open_engine(url, host, tools=[ECHO]) as engine:
                rec = Recorder(engine)
                with anyio.fail_after(self.timeout):
                    run = await engine.run(
                        single_step_source(navigator.name), dict(request.value), labels=dict(request.labels)
                    )
                    tasks = await engine.tasks(run.id)
                    approved = None
                    if action == "require_approval" and len(tasks) == 1:
                        approved = await engine.complete_task(tasks[0].id, "approve")
                return run, rec.of(run.id), tasks, approved

        with memory_store() as url:
            run, events, tasks, approved = self.run_async(main, url)
        checked = [e.payload for e in events if isinstance(e.payload, SafetyChecked)]
        outputs = [e.payload.outcome.output for e in events if isinstance(e.payload, StepCompleted)]
        where = f"{action} sample {request.value!r}"
        if action == "allow":
            assert run.status is RunStatus.COMPLETED and not checked, f"{where}: {run.status} {run.error} {checked}"
        elif action == "deny":
            assert run.status is RunStatus.FAILED and run.error is not None and run.error.code == "safety_denied", (
                f"{where}: {run.status} {run.error}"
            )
            assert [(c.check, c.action) for c in checked] == [(check.name, "deny")]
        elif action == "redact":
            assert run.status is RunStatus.COMPLETED, f"{where}: {run.status} {run.error}"
            assert outputs == [dict(expected)], f"{where}: the step saw {outputs}, not the redacted inputs"
            assert [(c.check, c.action) for c in checked] == [(check.name, "redact")]
        else:
            assert run.status is RunStatus.WAITING and len(tasks) == 1, f"{where}: {run.status}, tasks {tasks}"
            assert tasks[0].spec.form.get("approval") is True and tasks[0].spec.form.get("check") == check.name
            assert [(c.check, c.action) for c in checked] == [(check.name, "require_approval")]
            assert approved.status is RunStatus.COMPLETED, f"{where}: approved, the run ended {approved.status}"
            assert outputs == [dict(request.value)], f"{where}: approved, the step saw {outputs}"
