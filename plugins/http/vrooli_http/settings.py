"""Plugin settings: the ``[plugins.http]`` table of ``vrooli.toml`` (or ``[tool.vrooli.plugins.http]``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from vrooli_core.errors import ConfigError


@attrs.frozen
class HttpSettings:
    """Defaults for every API step; a step's own config wins where it sets the same thing."""

    #: Seconds a request may take (connect, each read, each write) unless the step says otherwise.
    timeout: float = 30.0
    #: Retries of a retryable request (idempotent method, or one carrying an ``Idempotency-Key``).
    retries: int = 2
    #: Seconds before the first retry; doubled for each further one, capped, then jittered.
    backoff: float = 0.5
    max_backoff: float = 30.0
    #: A ``Retry-After`` longer than this ends the retries (the step fails) instead of waiting.
    max_retry_after: float = 60.0
    #: ``{secret:NAME}`` is read from the environment variable ``<secret_prefix><NAME>`` ...
    secret_prefix: str = "VROOLI_SECRET_"
    #: ... unless this maps NAME to another environment variable.
    secrets: Mapping[str, str] = attrs.field(factory=dict)
    #: Response headers echoed in the output besides the default few (lower-case names).
    response_headers: tuple[str, ...] = ()
    #: Whether httpx reads proxy and certificate settings from the environment.
    trust_env: bool = True

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], origin: str | None = None) -> HttpSettings:
        where = f"{origin or 'config'} [plugins.http]"
        fields = {f.name: f for f in attrs.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ConfigError(f"{where}: unknown setting(s) {', '.join(unknown)} (known: {', '.join(fields)})")
        values: dict[str, Any] = {}
        for key, value in data.items():
            default = fields[key].default
            if key in ("timeout", "backoff", "max_backoff", "max_retry_after"):
                ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
                values[key] = float(value) if ok else None
            elif key == "retries":
                ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
                values[key] = value
            elif key == "secrets":
                ok = isinstance(value, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items())
                values[key] = dict(value) if ok else None
            elif key == "response_headers":
                ok = isinstance(value, list | tuple) and all(isinstance(v, str) for v in value)
                values[key] = tuple(v.lower() for v in value) if ok else None
            else:
                ok = type(value) is type(default)
                values[key] = value
            if not ok:
                raise ConfigError(f"{where}: invalid value for {key!r}: {value!r}")
        return cls(**values)
