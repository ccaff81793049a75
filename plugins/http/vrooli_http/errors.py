"""The one error type of the plugin: a failed HTTP step, with the code navigators route on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vrooli_core.errors import VrooliError


class HttpStepError(VrooliError):
    """An API step failed. ``code`` is the step's error code (``http_status``, ``missing_secret``,
    ``invalid_response``, ``timeout``, ``connect_error``, ``request_error``, ``invalid_config``);
    ``details`` is stored with the error, after redaction."""

    def __init__(self, code: str, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details: Mapping[str, Any] = details or {}
