"""Fixtures: a recording HTTP server on 127.0.0.1, a host with the flow navigator and this plugin,
and a helper that runs a flow routine on a fresh engine and returns what a test looks at."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import attrs
import pytest
from vrooli_http.plugin import HttpPlugin

from vrooli_core import Engine
from vrooli_core.model import ErrorInfo, RoutineSource, Run
from vrooli_core.plugins import PluginHost
from vrooli_core.serialization import dumps
from vrooli_core.testing.hosts import make_host
from vrooli_core.testing.pytest_plugin import memory_store_url  # noqa: F401 - used by the store fixture


@attrs.frozen
class Reply:
    """What the server answers next; ``body=None`` echoes the request as JSON."""

    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = attrs.field(factory=dict)
    delay: float = 0.0


@attrs.frozen
class Seen:
    method: str
    path: str  # raw, still percent-encoded
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float  # time.monotonic() on arrival
    peer: int  # the client's port: requests over one kept-alive connection share it

    def json(self) -> Any:
        return json.loads(self.body)


class RecordingServer:
    """An HTTP/1.1 server in a thread that records every request and answers from a script."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one_request(self) -> None:
                self.raw_requestline = self.rfile.readline(65537)
                if not self.raw_requestline or not self.parse_request():
                    self.close_connection = True
                    return
                recorder._answer(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, address: None  # type: ignore[method-assign]  # a client that timed out hung up
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    def reply(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        length = int(handler.headers.get("content-length") or 0)
        seen = Seen(
            handler.command,
            split.path,
            parse_qs(split.query),
            {k.lower(): v for k, v in handler.headers.items()},
            handler.rfile.read(length),
            time.monotonic(),
            handler.client_address[1],
        )
        with self._lock:
            self.requests.append(seen)
            reply = self._replies.popleft() if self._replies else Reply()
        if reply.delay:
            time.sleep(reply.delay)
        body = reply.body
        headers = dict(reply.headers)
        if body is None:
            echo = {"method": seen.method, "path": seen.path, "query": seen.query, "headers": seen.headers, "body": seen.body.decode()}
            body = json.dumps(echo).encode()
            headers.setdefault("Content-Type", "application/json")
        elif not isinstance(body, bytes):
            body = json.dumps(body).encode() if not isinstance(body, str) else body.encode()
            headers.setdefault("Content-Type", "application/json" if not isinstance(reply.body, str) else "text/plain")
        handler.send_response(reply.status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(body)


@attrs.frozen
class Result:
    run: Run
    variables: dict[str, Any]
    history: str  # every stored event of the run, serialised to JSON text

    @property
    def error(self) -> ErrorInfo:
        assert self.run.error is not None, f"run {self.run.status}, not failed"
        return self.run.error


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    srv = RecordingServer()
    try:
        yield srv
    finally:
        srv.close()


@pytest.fixture
def environ() -> dict[str, str]:
    """The environment secrets are read from (instead of ``os.environ``)."""
    return {}


@pytest.fixture
def plugin(environ: dict[str, str]) -> HttpPlugin:
    # Tiny backoff so retry tests stay fast; no proxies from the environment for loopback.
    return HttpPlugin({"backoff": 0.001, "max_backoff": 0.01, "trust_env": False}, environ=environ)


@pytest.fixture
def host(plugin: HttpPlugin) -> PluginHost:
    """A fresh host: the kernel builtins, the flow test navigator and this plugin (no entry points)."""
    return make_host((plugin, "http"))


@pytest.fixture
def store(memory_store_url: str) -> str:  # noqa: F811 - the kit's fixture, imported above
    """A memory store of this test (dropped when it ends)."""
    return memory_store_url


async def run_flow(host: PluginHost, store: str, text: str, inputs: Mapping[str, Any] | None = None, **engine: Any) -> Result:
    """Run a flow routine (TOML) to rest on a new engine; return the run, its variables, its history."""
    async with Engine.open(store, host=host, **engine) as eng:
        try:
            run = await eng.run(RoutineSource(text, None, "flow"), dict(inputs or {}))
            variables = await eng.variables(run.id)
            events = await eng.history(run.id)
            history = "\n".join(dumps(eng.converter, event) for event in events)
        finally:
            await eng.executor.strategies["http"].aclose()  # type: ignore[attr-defined]
    return Result(run, variables, history)


def api_flow(server: RecordingServer, config: str, *, extra: str = "", inputs: str = "") -> str:
    """A one-step flow: ``config`` is the TOML inline table of the API step ``call``; its whole output
    becomes the variable ``resp``. ``@URL@`` in ``config`` is the server's address."""
    return f"""
id = "api-test"
start = "call"

[steps.call]
kind = "api"
{inputs}
out = {{ resp = "" }}
config = {config.replace("@URL@", server.url)}
{extra}
"""
