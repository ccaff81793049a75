"""Routines as tools: a routine that a step (a model's tool loop, a ``tool`` step) calls like a
function. Each call runs the routine as a child run of the calling run (its ``parent_run_id``), moved
by the same engine, and answers with the child's outputs.

The child's id is derived from the calling step's idempotency key, the routine and the arguments:
a step executed again after a crash (same key) finds the child it started and waits for it instead of
starting another, so a routine is not run twice for one call. The call waits until the child finishes
— through human tasks and timers too (the calling step stays in flight meanwhile; bound it with the
step's ``timeout``). A child that fails or is cancelled makes the call raise
:class:`RoutineToolError` (naming the routine and the child run), which a model's tool loop reports
back to the model like any tool error. When the calling run finishes first, its live children are
cancelled.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from vrooli_core.errors import DuplicateEventError, NotFoundError, VrooliError
from vrooli_core.execution.tools import ToolSpec
from vrooli_core.model import RoutineDef, RunStatus

if TYPE_CHECKING:
    from vrooli_core.engine.engine import Engine
    from vrooli_core.execution.strategy import StepContext

_CALL_IDS = uuid.UUID("0c6f3a4e-3b0f-4f2d-9d51-7a2b9a1c5e13")


class RoutineToolError(VrooliError):
    """A routine called as a tool failed or was cancelled."""

    def __init__(self, message: str, *, routine: str, run_id: str, code: str) -> None:
        super().__init__(message)
        self.routine = routine
        self.run_id = run_id
        self.code = code


def call_run_id(idempotency_key: str, routine_id: str, arguments: Mapping[str, Any]) -> str:
    """The child run a call makes: the same for the same step attempt, routine and arguments."""
    canonical = json.dumps(arguments, sort_keys=True, separators=(",", ":"), default=repr)
    return uuid.uuid5(_CALL_IDS, f"{idempotency_key}/{routine_id}/{canonical}").hex


class RoutineTools:
    """Making routines into tools (mixed into :class:`~vrooli_core.engine.Engine`)."""

    async def routine_tool(
        self: Engine,
        routine: str,
        *,
        version: str | None = None,
        name: str | None = None,
        description: str | None = None,
        register: bool = True,
    ) -> ToolSpec:
        """A tool that runs ``routine`` (an id of a loaded routine, ``version`` or the latest) as a
        child run of the calling run and answers with its outputs. Its parameters are the routine's
        input schema; its name is the routine id (characters models refuse in function names become
        ``_``) unless ``name`` is given. ``register``: add it to the engine's tools."""
        definition = await self._routine_version(routine, version)
        spec = ToolSpec(
            name=name or re.sub(r"[^A-Za-z0-9_-]", "_", definition.id),
            fn=self._routine_caller(definition),
            description=description or definition.description or f"Run the routine {definition.id!r}",
            parameters=dict(definition.inputs) or {"type": "object", "properties": {}},
            side_effects=True,
        )
        if register:
            self.register_tool(spec)
        return spec

    async def _routine_version(self: Engine, routine: str, version: str | None) -> RoutineDef:
        if version is not None:
            return (await self.graph(routine, version)).routine
        versions = await self.storage.list_routines(routine)
        if not versions:
            raise NotFoundError(f"no routine {routine!r} is loaded: load it before making it a tool")
        return versions[-1]

    def _routine_caller(self: Engine, definition: RoutineDef) -> Any:
        async def call(ctx: StepContext, **arguments: Any) -> Any:
            return await self._call_routine(ctx, definition, arguments)

        return call

    async def _call_routine(self: Engine, ctx: StepContext, definition: RoutineDef, arguments: Mapping[str, Any]) -> Any:
        child_id = call_run_id(ctx.idempotency_key, definition.id, arguments)
        try:
            child = await self._create(definition, arguments, parent=(ctx.run_id, ctx.token.id), run_id=child_id)
        except DuplicateEventError:
            pass  # started by an earlier execution of this step: wait for it
        else:
            await self._settle_kicked(child)
        run = await self.wait(child_id, finished=True)
        if run.status is RunStatus.COMPLETED:
            return dict(run.outputs or {})
        reason = f": {run.error.message}" if run.error is not None else ""
        raise RoutineToolError(
            f"routine {definition.id!r} (run {child_id}) {run.status}{reason}",
            routine=definition.id,
            run_id=child_id,
            code="routine_failed" if run.status is RunStatus.FAILED else "routine_cancelled",
        )
