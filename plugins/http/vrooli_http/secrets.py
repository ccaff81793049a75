"""Where ``{secret:NAME}`` values come from: a provider of the application's, the mapping of the
settings, or ``VROOLI_SECRET_<NAME>`` in the environment."""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Awaitable, Mapping
from typing import Protocol, runtime_checkable

from vrooli_http.settings import HttpSettings

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\Z")


@runtime_checkable
class SecretsProvider(Protocol):
    """Looks secrets up by name (a vault client, a keyring). Return ``None`` for an unknown name so
    the environment is tried next. May be a coroutine function."""

    def get_secret(self, name: str) -> str | Awaitable[str | None] | None: ...


def env_name(name: str, settings: HttpSettings) -> str:
    """The environment variable holding secret ``name``."""
    mapped = settings.secrets.get(name)
    return mapped or settings.secret_prefix + re.sub(r"[^A-Za-z0-9_]", "_", name).upper()


async def resolve_secret(
    name: str,
    settings: HttpSettings,
    provider: SecretsProvider | None = None,
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """The value of secret ``name``, or ``None`` when nobody has it (an empty value counts as none:
    it could not be told apart in the output, so it is never sent)."""
    if provider is not None:
        value = provider.get_secret(name)
        if inspect.isawaitable(value):
            value = await value
        if value:
            return str(value)
    value = (os.environ if environ is None else environ).get(env_name(name, settings))
    return value or None
