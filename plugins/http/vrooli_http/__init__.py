"""vrooli-http: HTTP API steps for vrooli.

Importing this package (as ``vrooli --help`` does through the entry point) imports neither httpx nor
the strategy: they are imported when an engine first asks for strategies, httpx on the first request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vrooli_http.errors import HttpStepError
    from vrooli_http.plugin import HttpPlugin
    from vrooli_http.secrets import SecretsProvider
    from vrooli_http.settings import HttpSettings
    from vrooli_http.strategy import HttpStrategy

__version__ = "0.1.0"
__all__ = ["HttpPlugin", "HttpSettings", "HttpStepError", "HttpStrategy", "SecretsProvider"]

_HOMES = {
    "HttpPlugin": "vrooli_http.plugin",
    "HttpSettings": "vrooli_http.settings",
    "HttpStepError": "vrooli_http.errors",
    "HttpStrategy": "vrooli_http.strategy",
    "SecretsProvider": "vrooli_http.secrets",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
