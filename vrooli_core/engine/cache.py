"""The result cache: a step whose config says ``cache = true`` (or ``cache = {ttl = seconds}``) is
executed once per routine version, step, step configuration (the model, the prompt, the tools) and
inputs; later runs reuse the stored output without executing it.

Entries are documents of the store (collection ``step-cache``), keyed by a SHA-256 of those four, so
every engine on a store shares them. A hit is recorded as a ``step.cache_hit`` event with what the
step cost when it was executed (the cost saved), then the step completes with the stored output and
no usage. Only completed outcomes are stored. A step whose output depends on anything else (the time,
a tool's outside state) must not opt in.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from vrooli_core.errors import NotFoundError, RunError
from vrooli_core.model import Outcome, OutcomeStatus, StepDef, Usage
from vrooli_core.model.events import StepCacheHit

if TYPE_CHECKING:
    from vrooli_core.engine.engine import Engine
    from vrooli_core.engine.runtime import RunRuntime
    from vrooli_core.model import Token

CACHE = "step-cache"


def cache_ttl(step: StepDef) -> float | None:
    """Seconds a cached result of ``step`` stays usable (``inf``: forever; ``None``: no caching)."""
    setting = step.config.get("cache")
    if setting is None or setting is False:
        return None
    if setting is True:
        return float("inf")
    if isinstance(setting, dict) and isinstance(setting.get("ttl"), (int, float)) and setting["ttl"] > 0:
        return float(setting["ttl"])
    raise RunError(
        f"step {step.id!r}: cache must be true, false or {{ttl = seconds}}, not {setting!r}", code="invalid_cache"
    )


class ResultCache:
    """Looking up and storing step results (mixed into :class:`~vrooli_core.engine.Engine`)."""

    def _cache_key(self: Engine, rt: RunRuntime, step: StepDef, inputs: Any) -> str:
        config = {k: v for k, v in step.config.items() if k != "cache"}
        basis = [rt.state.routine.content_hash, step.id, self._normalised(config)[0], self._normalised(inputs)[0]]
        text = json.dumps(basis, sort_keys=True, separators=(",", ":"), default=repr)
        return hashlib.sha256(text.encode()).hexdigest()

    async def _cached(self: Engine, rt: RunRuntime, token: Token, step: StepDef, key: str, ttl: float) -> Outcome | None:
        """The stored outcome for ``key``, recorded as a hit; ``None`` when there is none (or it expired)."""
        try:
            entry = await self.storage.get_doc(CACHE, key)
        except NotFoundError:
            return None
        if self.clock.now() - float(entry.get("at", 0.0)) > ttl:
            return None
        saved = self.converter.structure(entry.get("usage") or {}, Usage)
        async with rt.lock:
            await self._record(rt, StepCacheHit(token.id, step.id, key, saved))
        return Outcome(output=entry.get("output"))

    async def _remember(self: Engine, key: str, outcome: Outcome) -> None:
        if outcome.status is not OutcomeStatus.COMPLETED:
            return
        output, bad = self._normalised(outcome.output)
        if bad is not None:
            return  # not storable: the step's completion reports it
        usage = self.converter.unstructure(outcome.usage)
        await self.storage.put_doc(CACHE, key, {"output": output, "usage": usage, "at": self.clock.now()})
