"""OpenTelemetry spans for runs and steps."""

from __future__ import annotations

import pytest
from _util import flow

from vrooli_core import Engine, tool

pytestmark = pytest.mark.anyio


@tool
def fail() -> dict:
    raise ValueError("no")


async def test_runs_and_steps_become_spans(host, store):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    text = 'id = "traced"\nstart = "a"\n[steps.a]\nkind = "tool"\ntool = "fail"\non_error = "b"\n[steps.b]\n'
    async with Engine.open(store, host=host, tools=[fail], tracer_provider=provider) as engine:
        run = await engine.run(flow(text))
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert set(spans) == {"run traced", "step a"}  # noop steps cost no span
    assert spans["run traced"].attributes["vrooli.run"] == run.id
    assert spans["run traced"].attributes["vrooli.status"] == "completed"
    step = spans["step a"]
    assert step.attributes["vrooli.step.kind"] == "tool" and step.attributes["vrooli.error.code"] == "ValueError"
