"""OpenTelemetry spans for runs and steps (opentelemetry-api only: without an SDK they cost little
and export nothing; an application that installs an SDK and exporter gets the spans)."""

from __future__ import annotations

from typing import Any


def get_tracer(provider: Any = None) -> Any:
    """The tracer of ``provider`` (an OpenTelemetry ``TracerProvider``), else of the global one."""
    from opentelemetry import trace

    from vrooli_core import __version__

    return trace.get_tracer("vrooli", __version__, tracer_provider=provider)


def tracing_enabled(provider: Any = None) -> bool:
    """Whether spans would be recorded: a provider was given, or an SDK provider is installed globally."""
    if provider is not None:
        return True
    from opentelemetry import trace

    return not isinstance(trace.get_tracer_provider(), (trace.ProxyTracerProvider, trace.NoOpTracerProvider))
