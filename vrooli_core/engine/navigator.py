"""The Navigator contract: a format's meaning, answered one movement question at a time."""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from vrooli_core.errors import RoutineError
from vrooli_core.model import NOTHING, Decision, Graph, IOMapping, Outcome, RoutineSource, Token, Wait, WaitSpec

if TYPE_CHECKING:
    from vrooli_core.execution.strategy import StepContext
    from vrooli_core.model.events import Event
    from vrooli_core.picture import Picture


class RunView:
    """A read-only view of a run for navigators: live tokens, variables, the navigator's own state and
    registered waits. It reflects the run as it is when the navigator is called; navigators must not
    keep it (or anything else about a run) between calls."""

    __slots__ = ("now", "routine_id", "run_id", "start", "state", "tokens", "variables", "waits")

    def __init__(
        self,
        run_id: str,
        routine_id: str,
        tokens: dict[str, Token],
        variables: dict[str, Any],
        state: dict[str, Any],
        waits: dict[str, Wait],
    ) -> None:
        self.run_id = run_id
        self.routine_id = routine_id
        self.tokens: Mapping[str, Token] = MappingProxyType(tokens)
        self.variables: Mapping[str, Any] = MappingProxyType(variables)
        self.state: Mapping[str, Any] = MappingProxyType(state)
        self.waits: Mapping[str, Wait] = MappingProxyType(waits)
        #: The engine clock's time of this question (absolute timer due times are computed from it).
        self.now = 0.0
        #: The key of the start trigger (see ``Navigator.starts``) that created the run, if any.
        self.start: str | None = None

    def tokens_at(self, location: str) -> list[Token]:
        return [t for t in self.tokens.values() if t.location == location]


class Navigator(abc.ABC):
    """Reads one routine format and decides how runs of it move.

    The engine owns tokens, variables, persistence, limits and events; the navigator owns the meaning
    of the graph. Its methods must be deterministic functions of their arguments and must keep no
    per-run state outside ``view.state``, which they change only through ``Decision.state``: any
    process can then continue any run. (Resuming re-applies the *recorded* decisions without asking
    the navigator again; determinism is what lets a run be replayed against another routine version
    to find where the two diverge.)

    *Native* navigators let the engine execute every step. *Delegating* navigators (``delegating =
    True``) hand a whole foreign graph to its own runtime inside steps of kind ``delegate``, through
    :meth:`execute`, and report each foreign step with ``ctx.substep`` so limits and safety checks
    still apply between them.
    """

    name: ClassVar[str]
    #: File name endings the navigator claims (``".bpmn"``); see :meth:`accepts`.
    suffixes: ClassVar[tuple[str, ...]] = ()
    supports_parallel: ClassVar[bool] = True
    delegating: ClassVar[bool] = False

    def accepts(self, source: RoutineSource) -> bool:
        """Whether this navigator reads ``source`` (by default: its path ends with one of ``suffixes``)."""
        return bool(source.path) and source.path.endswith(self.suffixes) if self.suffixes else False  # type: ignore[union-attr]

    @abc.abstractmethod
    def load(self, source: RoutineSource) -> Graph:
        """Parse and validate; raise :class:`~vrooli_core.errors.RoutineError` naming the element and
        line of every construct that cannot be executed (never skip one silently)."""

    @abc.abstractmethod
    def start(self, graph: Graph, view: RunView) -> Decision:
        """The first decision of a run: usually tokens at the start locations."""

    @abc.abstractmethod
    def next(self, graph: Graph, view: RunView, token: Token, outcome: Outcome) -> Decision:
        """``token`` finished its step (or its blocking wait resolved) with ``outcome``; it is
        consumed. Failed outcomes arrive here too: route them (an error boundary) or return a decision
        with ``error`` to fail the run."""

    def on_event(self, graph: Graph, view: RunView, wait: Wait, outcome: Outcome) -> Decision:
        """A non-blocking wait (a boundary event attached to a running token) resolved."""
        return NOTHING

    def starts(self, graph: Graph) -> tuple[WaitSpec, ...]:
        """What starts a new run of this routine besides ``Engine.run``, as wait specs whose ``key``
        names the start (it becomes ``view.start`` of the runs it starts; keys are unique):

        - MESSAGE and SIGNAL specs (BPMN message and signal start events): when one arrives and no
          run waits for it, the engine starts a run with the payload as inputs;
        - TIMER specs (BPMN timer start events): the engine schedules each on its clock when the
          routine version is loaded, asking :meth:`start_due` when it fires, and starts a run (with no
          inputs) at every firing;
        - CONDITION specs (BPMN conditional start events): ``Engine.evaluate_conditions(variables)``
          asks :meth:`start_condition_met` of each and starts a run, with those variables as inputs,
          for every start whose condition holds.
        """
        return ()

    def start_due(
        self, graph: Graph, start: WaitSpec, now: float, *, previous: float | None = None, fired: int = 0
    ) -> float | None:
        """When the timer start ``start`` (a TIMER spec from :meth:`starts`) fires next, in epoch
        seconds on the engine clock; ``None``: never (again).

        ``previous`` is ``None`` for the first firing of a schedule armed at ``now`` (the routine
        version was loaded then); a due time in the past fires at once. Otherwise the start has
        fired ``fired`` times, the last one due at ``previous``, and ``now`` is the time of that
        firing; the answer must be later than ``previous``. Raise ``RoutineError`` naming the element
        when the timer cannot be evaluated (at load, that refuses the routine).

        By default a timer start fires once: at ``start.due``, or ``start.delay`` seconds after it
        was armed. Override this for cycles (the BPMN navigator evaluates ``timeCycle``)."""
        if previous is not None:
            return None
        if start.due is not None:
            return start.due
        if start.delay is not None:
            return now + start.delay
        raise RoutineError(
            f"timer start {start.key!r} has neither due nor delay (a navigator with other timers overrides start_due)",
            element=start.key or None,
        )

    def start_condition_met(self, graph: Graph, start: WaitSpec, variables: Mapping[str, Any]) -> bool:
        """Whether the conditional start ``start`` (a CONDITION spec from :meth:`starts`) holds for
        ``variables``. By default ``start.condition`` is evaluated in the kernel's sandbox. Raise
        ``ExpressionError`` naming the element when it cannot be evaluated."""
        from vrooli_core.expressions import evaluate

        return bool(evaluate(start.condition or "False", variables, element=start.key or None))

    def condition_met(self, graph: Graph, view: RunView, wait: Wait) -> bool:
        """Whether a CONDITION wait's condition holds now (asked whenever the run's variables change).
        By default ``wait.spec.condition`` is evaluated in the kernel's sandbox; a navigator with its own
        expression language overrides this. Raise ``ExpressionError`` when it cannot be evaluated."""
        from vrooli_core.expressions import evaluate

        return bool(evaluate(wait.spec.condition or "False", view.variables, element=wait.spec.key or None))

    def io(self, graph: Graph, location: str) -> IOMapping:
        """How the step at ``location`` reads and writes run variables."""
        return graph.steps[location].io

    def visits(self, graph: Graph, history: Sequence[Event]) -> dict[str, int]:
        """How often a run visited each element of its picture, from its events, for ``vrooli runs
        show --graph``. The default counts steps (a token completing or suspending at one); a navigator
        whose tokens pass elements that are not steps (gateways, events) can add those."""
        from vrooli_core.picture import visits

        return visits(history)

    def picture(self, graph: Graph) -> Picture:
        """What the routine looks like, for ``vrooli graph`` and ``vrooli runs show --graph``.

        Navigators should override this: only they know the graph's edges, the kinds of its elements
        and any diagram coordinates in the source. A node that is a step has the step's id (its location),
        so a run's visits can be shown on it. The default draws the steps alone, with a warning.
        """
        from vrooli_core.picture import Picture, PictureNode

        kinds = {"human": "human", "subroutine": "subprocess"}
        nodes = tuple(PictureNode(s.id, s.name or s.id, kinds.get(s.kind.value, "task")) for s in graph.steps.values())
        title = graph.routine.name or graph.routine.id
        return Picture(
            nodes,
            (),
            title=title,
            warnings=(f"this navigator ({getattr(self, 'name', type(self).__name__)}) does not describe its edges",),
        )

    async def execute(self, graph: Graph, view: RunView, token: Token, ctx: StepContext) -> Outcome:
        """Delegating navigators: run the foreign runtime for a ``delegate`` step."""
        raise NotImplementedError(f"navigator {self.name!r} does not execute delegate steps")
