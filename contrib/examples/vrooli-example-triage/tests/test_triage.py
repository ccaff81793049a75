"""The support-ticket triage routine (``contrib/examples/routines/triage.bpmn``) end to end: offline
models, the lookup_customer tool, a person's approval, and the reply POSTed to a recording server on
127.0.0.1, with runs kept in a SQLite file."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click.testing
import pytest
import vrooli_bpmn.plugin
import vrooli_example_triage
import vrooli_sqlalchemy.plugin
from vrooli_http.plugin import HttpPlugin
from vrooli_litellm.plugin import LiteLLMPlugin

from vrooli_core import Engine
from vrooli_core.cli import _common, main
from vrooli_core.model import RunStatus
from vrooli_core.plugins import PluginHost

pytestmark = pytest.mark.anyio

ROUTINE = Path(__file__).resolve().parents[2] / "routines" / "triage.bpmn"
TICKET = "I was charged twice for my March invoice."


class Receiver:
    """An HTTP server on 127.0.0.1 (a free port) that records every request and answers 201."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        requests = self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "json": json.loads(body)})
                answer = b'{"received": true}'
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/replies"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    try:
        yield server
    finally:
        server.close()


def triage_host() -> PluginHost:
    """A host with exactly the plugins the routine needs (installed entry points are not loaded)."""
    host = PluginHost.create(load_entrypoints=False)
    host.register(vrooli_bpmn.plugin, "bpmn")
    host.register(LiteLLMPlugin(), "litellm")
    # No proxy from the environment between the step and 127.0.0.1; no retries to wait for.
    host.register(HttpPlugin({"trust_env": False, "retries": 0}), "http")
    host.register(vrooli_sqlalchemy.plugin, "sqlalchemy")
    host.register(vrooli_example_triage, "example-triage")
    return host


@pytest.fixture
def store(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'runs.db'}"


def inputs(receiver: Receiver, customer_id: str = "c-1") -> dict[str, str]:
    return {"ticket": TICKET, "customer_id": customer_id, "reply_url": receiver.url}


async def test_the_run_waits_for_approval_then_sends_the_draft_once(store: str, receiver: Receiver) -> None:
    async with Engine.open(store, host=triage_host()) as engine:
        run = await engine.run(ROUTINE, inputs(receiver))
        assert run.status is RunStatus.WAITING
        [task] = await engine.tasks(run.id)
        assert task.spec.name == "Approve the reply" and task.spec.form["required"] == ["approved"]
        variables = await engine.variables(run.id)
        assert receiver.requests == []  # nothing is sent before a person approves

    # What the steps recorded: the classification, the customer, a draft naming both.
    assert variables["category"] == "billing" and variables["urgency"] == "high"
    assert variables["customer"] == {"id": "c-1", "name": "Ada Lovelace", "email": "ada@example.com", "plan": "pro"}
    draft = variables["reply"]
    assert "Ada Lovelace" in draft and "billing ticket" in draft and TICKET in draft

    # Another engine on the same file answers the task: the run was kept in the SQLite store.
    async with Engine.open(store, host=triage_host()) as engine:
        done = await engine.complete_task(task.id, {"approved": True})
        final = await engine.variables(run.id)
        assert await engine.tasks(run.id) == []

    assert done.status is RunStatus.COMPLETED
    [post] = receiver.requests
    assert post["path"] == "/replies"
    assert post["json"] == {"customer_id": "c-1", "category": "billing", "reply": draft}
    assert post["headers"]["idempotency-key"]
    assert final["delivery_status"] == 201


async def test_an_edited_reply_is_sent_instead_of_the_draft(store: str, receiver: Receiver) -> None:
    async with Engine.open(store, host=triage_host()) as engine:
        run = await engine.run(ROUTINE, inputs(receiver, "c-3"))
        [task] = await engine.tasks(run.id)
        done = await engine.complete_task(task.id, {"approved": True, "edited_reply": "Dear Grace, refunded. The support team"})
    assert done.status is RunStatus.COMPLETED
    [post] = receiver.requests
    assert post["json"]["reply"] == "Dear Grace, refunded. The support team" and post["json"]["customer_id"] == "c-3"


async def test_a_rejected_reply_is_not_sent(store: str, receiver: Receiver) -> None:
    async with Engine.open(store, host=triage_host()) as engine:
        run = await engine.run(ROUTINE, inputs(receiver, "c-2"))
        [task] = await engine.tasks(run.id)
        done = await engine.complete_task(task.id, {"approved": False})
        final = await engine.variables(run.id)
    assert done.status is RunStatus.COMPLETED
    assert receiver.requests == []
    assert final["approved"] is False and "delivery_status" not in final
    assert "Alan Turing" in final["reply"]


async def test_an_unknown_customer_fails_the_run_naming_the_id(store: str, receiver: Receiver) -> None:
    async with Engine.open(store, host=triage_host()) as engine:
        run = await engine.run(ROUTINE, inputs(receiver, "c-404"))
    assert run.status is RunStatus.FAILED
    assert run.error.code == "unknown_customer" and run.error.element == "lookup"
    assert "no customer has the id 'c-404'" in run.error.message
    assert receiver.requests == []


@pytest.fixture
def vrooli(monkeypatch: pytest.MonkeyPatch, store: str, tmp_path: Path) -> Any:
    """``vrooli --store <store> ARGS`` in this process, every command with the triage host (as if the
    plugins were installed); each command opens its own engine, as separate processes would."""
    for var in ("VROOLI_STORE", "VROOLI_CONFIG", "VROOLI_LOAD_PLUGINS", "VROOLI_DISABLE_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # no project configuration is found
    monkeypatch.setattr(_common, "make_host", lambda strict, config=None: triage_host())

    def invoke(*args: str) -> Any:
        result = click.testing.CliRunner().invoke(main, ["--store", store, *args])
        assert "Traceback" not in result.output, result.output
        return result

    return invoke


def test_the_cli_runs_the_routine_and_completes_the_task(vrooli: Any, receiver: Receiver) -> None:
    flags = [part for key, value in inputs(receiver).items() for part in ("--input", f"{key}={value}")]
    started = vrooli("run", str(ROUTINE), *flags, "--json")
    assert started.exit_code == 0, started.output  # a run waiting for a person is a success
    report = json.loads(started.stdout)
    assert report["run"]["status"] == "waiting"
    [task] = report["tasks"]

    listed = vrooli("tasks", "list", "--json")
    assert [t["id"] for t in json.loads(listed.stdout)] == [task["id"]]

    answered = vrooli("tasks", "complete", task["id"][:8], "--output", "approved=true", "--json")
    assert answered.exit_code == 0, answered.output
    assert json.loads(answered.stdout)["run"]["status"] == "completed"
    [post] = receiver.requests
    assert post["json"]["category"] == "billing" and "Ada Lovelace" in post["json"]["reply"]

    shown = vrooli("runs", "show", report["run"]["id"], "--json")
    assert json.loads(shown.stdout)["run"]["status"] == "completed"
