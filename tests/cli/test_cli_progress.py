"""The progress spinner: shown on a terminal, silent otherwise."""

from __future__ import annotations

import io
import sys

import anyio
import pytest

from vrooli_core.cli._progress import progress
from vrooli_core.engine import Engine
from vrooli_core.model import RoutineSource
from vrooli_core.plugins import PluginHost, hookimpl
from vrooli_core.testing.flow import FlowNavigator

CHAIN = '[steps.a]\nnext = "b"\n[steps.b]\nnext = "c"\n[steps.c]\n'


class _Flow:
    @hookimpl
    def vrooli_register_navigators(self) -> list[type]:
        return [FlowNavigator]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _run_chain() -> str:
    host = PluginHost.create(load_entrypoints=False)
    host.register(_Flow(), "flow")

    async def main() -> str:
        async with Engine.open("memory://", host=host) as engine:
            with progress(engine):
                run = await engine.run(RoutineSource(CHAIN, "chain.flow.toml"))
            return str(run.status)

    return anyio.run(main)


def test_progress_names_steps_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    assert _run_chain() == "completed"
    assert "3 steps done; completed c" in term.getvalue()


def test_progress_is_silent_when_stderr_is_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    assert _run_chain() == "completed"
    assert pipe.getvalue() == ""
