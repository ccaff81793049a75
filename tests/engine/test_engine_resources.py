"""``vrooli_engine_resources``: what plugins hold while an engine is open, entered and exited with it."""

from __future__ import annotations

import contextlib

import pytest
from _util import flow

from vrooli_core import Engine
from vrooli_core.model import RunStatus
from vrooli_core.plugins import hookimpl

pytestmark = pytest.mark.anyio


class Holder:
    def __init__(self, name: str, log: list[str], fail_on_exit: bool = False) -> None:
        self.name, self.log, self.fail_on_exit = name, log, fail_on_exit

    @hookimpl
    def vrooli_engine_resources(self, engine):
        @contextlib.asynccontextmanager
        async def held():
            self.log.append(f"open {self.name}")
            try:
                yield
            finally:
                self.log.append(f"close {self.name}")

        return held()


class Nothing:
    @hookimpl
    def vrooli_engine_resources(self, engine):
        return None


async def test_resources_are_held_while_the_engine_is_open_and_closed_in_reverse(host, store):
    log: list[str] = []
    host.register(Holder("a", log), "a")
    host.register(Holder("b", log), "b")
    host.register(Nothing(), "nothing")
    async with Engine.open(store, host=host) as engine:
        assert sorted(log) == ["open a", "open b"]
        run = await engine.run(flow('[steps.s]\nkind = "noop"\n'))
        assert run.status is RunStatus.COMPLETED
    assert sorted(log[:2]) == ["open a", "open b"]
    assert log[2:] == [f"close {log[1][5:]}", f"close {log[0][5:]}"]  # reverse order


async def test_resources_are_closed_when_the_engine_body_raises(host, store):
    log: list[str] = []
    host.register(Holder("a", log), "a")
    with pytest.raises(RuntimeError, match="boom"):
        async with Engine.open(store, host=host):
            raise RuntimeError("boom")
    assert log == ["open a", "close a"]
