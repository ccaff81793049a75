"""A synchronous face for the engine: every coroutine method of :class:`Engine`, called from plain code."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from anyio.from_thread import BlockingPortal, start_blocking_portal

from vrooli_core.engine.engine import Engine


class SyncEngine:
    """Runs an :class:`Engine` on an event loop in a background thread.

    ``with SyncEngine.open("memory://") as engine: engine.run("hello.flow.toml")`` — every async
    method of ``Engine`` is available under the same name, blocking until it returns.
    """

    def __init__(self, engine: Engine, portal: BlockingPortal) -> None:
        self.engine = engine
        self.portal = portal

    @classmethod
    @contextmanager
    def open(cls, store: Any = None, **kwargs: Any) -> Iterator[SyncEngine]:
        with start_blocking_portal() as portal:
            with portal.wrap_async_context_manager(Engine.open(store, **kwargs)) as engine:
                yield cls(engine, portal)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.engine, name)
        if not inspect.iscoroutinefunction(attr):
            return attr

        @functools.wraps(attr)
        def call(*args: Any, **kwargs: Any) -> Any:
            return self.portal.call(functools.partial(attr, *args, **kwargs))

        return call
