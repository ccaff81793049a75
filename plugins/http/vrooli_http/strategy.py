"""The ``http`` strategy: runs ``api`` steps as HTTP requests."""

from __future__ import annotations

from collections.abc import Mapping
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import TYPE_CHECKING, Any, ClassVar

import anyio
import anyio.lowlevel

from vrooli_core.execution.safety import SafetyPoint
from vrooli_core.execution.strategy import StepContext, Strategy
from vrooli_core.model import Outcome, StepKind
from vrooli_http.errors import HttpStepError
from vrooli_http.redact import Redactor
from vrooli_http.request import IDEMPOTENT, RequestSpec
from vrooli_http.retry import RETRY_STATUSES, backoff_delay, parse_retry_after
from vrooli_http.secrets import NAME, SecretsProvider, env_name, resolve_secret
from vrooli_http.settings import HttpSettings
from vrooli_http.templates import Namespace, render, secret_names, url_segment

if TYPE_CHECKING:
    import httpx

    from vrooli_http.plugin import HttpPlugin

#: Response headers every output carries (when the server sent them); never cookies or auth.
ECHOED_HEADERS = frozenset({"content-type", "content-length", "etag", "last-modified", "location", "retry-after", "x-request-id", "link"})
USER_AGENT = "vrooli-http/0.1"
_SNIPPET = 500


class HttpStrategy(Strategy):
    """Sends ``step.config`` as an HTTP request and returns ``{"status", "headers", "body"}``.

    Settings and the secrets provider come from the constructor, else from the plugin that
    registered the strategy (:class:`~vrooli_http.plugin.HttpPlugin`), else the defaults. One
    ``httpx.AsyncClient`` per instance (so per engine), made on first use.
    """

    name: ClassVar[str] = "http"
    kinds: ClassVar[frozenset[StepKind]] = frozenset({StepKind.API})
    #: Set on the subclass a plugin registers, so an engine's ``cls()`` gets that plugin's settings.
    plugin: ClassVar[HttpPlugin | None] = None

    def __init__(
        self,
        settings: HttpSettings | None = None,
        secrets: SecretsProvider | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._settings = settings
        self._secrets = secrets
        self._environ = environ
        self._client: httpx.AsyncClient | None = None
        self._client_loop: object = None

    @property
    def settings(self) -> HttpSettings:
        if self._settings is not None:
            return self._settings
        return self.plugin.settings if self.plugin is not None else HttpSettings()

    @property
    def secrets(self) -> SecretsProvider | None:
        return self._secrets or (self.plugin.secrets if self.plugin is not None else None)

    async def aclose(self) -> None:
        """Close the HTTP client (the next request opens a new one)."""
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def execute(self, ctx: StepContext) -> Outcome:
        redactor = Redactor()
        try:
            return Outcome(output=await self._execute(ctx, redactor))
        except HttpStepError as exc:
            details = redactor.value(dict(exc.details))
            return Outcome.failure(exc.code, redactor.text(exc.message), element=ctx.step.id, type="HttpStepError", details=details)

    async def _execute(self, ctx: StepContext, redactor: Redactor) -> dict[str, Any]:
        spec = RequestSpec.from_config(ctx.step.id, ctx.step.config)
        settings = self.settings
        secrets = await self._resolve_secrets(spec, settings)
        redactor.add(secrets.values())
        plain = {"idempotency_key": ctx.idempotency_key, "run_id": ctx.run_id, "step_id": ctx.step.id}
        request = _build(spec, Namespace(ctx.step.id, ctx.inputs, secrets, plain), ctx.idempotency_key)
        masked = redactor.value(request)
        checked = await ctx.check(SafetyPoint.BEFORE_TOOL_CALL, masked)
        if checked is not masked:
            request = _apply_redaction(spec.step_id, request, masked, checked)
        has_key = any(name.lower() == "idempotency-key" for name in request["headers"])
        retries = spec.retries
        if retries is None:
            retries = settings.retries if request["method"] in IDEMPOTENT or has_key else 0
        response = await self._send(spec, request, retries, settings)
        output: dict[str, Any] = redactor.value(_output(spec, request, response, settings))
        return output

    async def _resolve_secrets(self, spec: RequestSpec, settings: HttpSettings) -> dict[str, str]:
        names = set(secret_names([spec.base_url, spec.url, spec.headers, spec.query, spec.body, spec.form]))
        values: dict[str, str] = {}
        for name in sorted(names):
            if not NAME.match(name):
                raise HttpStepError("invalid_config", f"API step {spec.step_id!r}: invalid secret name {name!r}")
            value = await resolve_secret(name, settings, self.secrets, self._environ)
            if value is None:
                where = f"environment variable {env_name(name, settings)}"
                if self.secrets is not None:
                    where = f"secrets provider or the {where}"
                raise HttpStepError(
                    "missing_secret",
                    f"API step {spec.step_id!r} needs secret {name!r}, which is not set (looked in the {where})",
                    {"secret": name},
                )
            values[name] = value
        return values

    def _http(self) -> httpx.AsyncClient:
        import httpx

        # A client's connections belong to the event loop that opened them; an engine reopened in
        # another loop (a sync wrapper's second anyio.run) gets a fresh client.
        loop = anyio.lowlevel.current_token()
        if self._client is None or self._client_loop != loop:
            settings = self.settings
            self._client = httpx.AsyncClient(
                trust_env=settings.trust_env,
                timeout=settings.timeout,
                headers={"User-Agent": USER_AGENT},
                # The client serves every run of the engine: a cookie one run's server set must not
                # ride along on another run's requests, so the jar accepts none.
                cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
            )
            self._client_loop = loop
        return self._client

    async def _send(self, spec: RequestSpec, request: Mapping[str, Any], retries: int, settings: HttpSettings) -> httpx.Response:
        import httpx

        client = self._http()
        timeout = spec.timeout or settings.timeout
        method, url = request["method"], request["url"]
        what = f"API step {spec.step_id!r}: {method} {url}"
        for attempt in range(retries + 1):
            tried = f" ({attempt + 1} attempts)" if attempt else ""
            retry_after: float | None = None
            try:
                response = await client.request(
                    method,
                    url,
                    headers=request["headers"],
                    params=request["query"],
                    json=request.get("body"),
                    data=request.get("form"),
                    timeout=timeout,
                    follow_redirects=spec.follow_redirects,
                )
            except httpx.TimeoutException as exc:
                error = HttpStepError("timeout", f"{what} timed out after {timeout:g} s ({type(exc).__name__}){tried}")
            except httpx.ConnectError as exc:
                error = HttpStepError("connect_error", f"{what}: cannot connect: {exc}{tried}")
            except Exception as exc:  # plugin boundary: httpx/h11 messages quote URLs and headers (secrets too); execute redacts this one
                raise HttpStepError("request_error", f"{what} failed: {type(exc).__name__}: {exc}{tried}") from None
            else:
                if spec.accepts(response.status_code):
                    return response
                error = _status_error(spec, what, response, tried)
                if response.status_code not in RETRY_STATUSES:
                    raise error
                retry_after = parse_retry_after(response.headers.get("retry-after"))
            if attempt == retries:
                raise error
            if retry_after is not None and retry_after > settings.max_retry_after:
                note = f"; not retried: Retry-After asks for {retry_after:g} s, more than max_retry_after ({settings.max_retry_after:g} s)"
                raise HttpStepError(error.code, error.message + note, error.details)
            await anyio.sleep(retry_after if retry_after is not None else backoff_delay(attempt, settings.backoff, settings.max_backoff))
        raise AssertionError("unreachable: the last attempt returns or raises")


def _build(spec: RequestSpec, ns: Namespace, idempotency_key: str) -> dict[str, Any]:
    """The request to send, templates filled (secrets included)."""
    url = render(spec.base_url, ns) + render(spec.url, ns, escape=url_segment)
    headers = {name: render(value, ns) for name, value in spec.headers.items()}
    if spec.idempotency_key and not any(name.lower() == "idempotency-key" for name in headers):
        headers["Idempotency-Key"] = idempotency_key
    request: dict[str, Any] = {"method": spec.method, "url": url, "headers": headers, "query": render(spec.query, ns)}
    if spec.has_body:
        request["body"] = render(spec.body, ns, typed=True)
    if spec.form is not None:
        request["form"] = render(spec.form, ns)
    return request


def _apply_redaction(step_id: str, real: dict[str, Any], masked: dict[str, Any], checked: Any) -> dict[str, Any]:
    """A safety check redacted the (masked) request description: take what it changed, keep the
    real value (secrets included) of everything it left as it was."""
    if not isinstance(checked, Mapping) or not isinstance(checked.get("method"), str) or not isinstance(checked.get("url"), str):
        raise HttpStepError("request_error", f"API step {step_id!r}: a safety check replaced the request with something that is not a request")
    result: dict[str, Any] = {}
    for key in ("method", "url", "body", "form"):
        if key in checked:
            result[key] = real[key] if key in masked and checked[key] == masked[key] else checked[key]
    for key in ("headers", "query"):
        entries = checked.get(key) or {}
        result[key] = {
            name: real[key][name] if name in masked[key] and masked[key][name] == value else value
            for name, value in entries.items()
        }
    return result


def _status_error(spec: RequestSpec, what: str, response: httpx.Response, tried: str) -> HttpStepError:
    status = response.status_code
    return HttpStepError(
        "http_status",
        f"{what} answered HTTP {status} {response.reason_phrase} (expected {spec.expect_text()}){tried}",
        {"status": status, "body": response.text[:_SNIPPET]},
    )


def _output(spec: RequestSpec, request: Mapping[str, Any], response: httpx.Response, settings: HttpSettings) -> dict[str, Any]:
    wanted = ECHOED_HEADERS | set(settings.response_headers)
    headers = {name: value for name, value in response.headers.items() if name.lower() in wanted}
    content_type = response.headers.get("content-type", "")
    body: Any
    if request["method"] == "HEAD" or (spec.response == "auto" and not response.content):
        body = None
    elif spec.response == "text" or (spec.response == "auto" and "json" not in content_type.lower()):
        body = response.text
    else:
        try:
            body = response.json()
        except ValueError:
            if spec.response == "auto":
                body = response.text
            else:
                raise HttpStepError(
                    "invalid_response",
                    f"API step {spec.step_id!r}: {request['method']} {request['url']} answered HTTP {response.status_code} "
                    f"with a body that is not JSON (content-type {content_type or 'none'}): {response.text[:200]!r}",
                    {"status": response.status_code},
                ) from None
    return {"status": response.status_code, "headers": headers, "body": body}
