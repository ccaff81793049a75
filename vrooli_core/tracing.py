"""OpenTelemetry spans for runs and steps (opentelemetry-api only: without an SDK they cost little
and export nothing; an application that installs an SDK and exporter gets the spans)."""

from __future__ import annotations

from typing import Any


def get_tracer() -> Any:
    from opentelemetry import trace

    return trace.get_tracer("vrooli")
