"""A spinner on stderr while runs move: which step, how many so far. Only on a terminal, so pipes,
scripts and ``--json`` consumers see nothing of it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vrooli_core.engine import Engine
    from vrooli_core.model import Event

_STEP_EVENTS = ("step.started", "step.completed", "step.retrying")


@contextmanager
def progress(engine: Engine) -> Iterator[None]:
    """Show the step being worked on while the body runs (nothing when stderr is not a terminal)."""
    if not sys.stderr.isatty():
        yield
        return
    from rich.console import Console

    done = 0
    with Console(stderr=True, highlight=False, markup=False).status("starting") as status:

        def on_event(event: Event) -> None:
            nonlocal done
            kind = event.type.split(".", 1)[1]
            if kind == "completed":
                done += 1
            status.update(f"{done} steps done; {kind} {getattr(event.payload, 'step', '?')}")

        unsubscribe = engine.subscribe(on_event, types=_STEP_EVENTS)
        try:
            yield
        finally:
            unsubscribe()
