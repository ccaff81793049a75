"""The analyzer conformance suite, run against a small failure-cluster analyzer defined here."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from vrooli_core import tool
from vrooli_core.analysis import Analyzer, Finding, History, Proposal
from vrooli_core.model import RoutineSource, RunStatus
from vrooli_core.testing.conformance import AnalyzerConformance


class FailureClusters(Analyzer):
    """Reports error codes that failed a routine's runs at least twice, and proposes retrying the
    step that failed."""

    name: ClassVar[str] = "failure-clusters"

    async def analyze(self, history: History, routine_id: str | None = None) -> Iterable[Finding | Proposal]:
        runs = [r for r in await history.runs(routine_id) if r.status is RunStatus.FAILED and r.error]
        clusters = Counter((r.routine.id, r.routine.version, r.error.code, r.error.element) for r in runs if r.error)
        results: list[Finding | Proposal] = []
        for (rid, version, code, element), count in sorted(clusters.items()):
            if count < 2:
                continue
            results.append(
                Finding(
                    "failure_cluster",
                    f"{count} runs failed with {code}",
                    rid,
                    "warning",
                    element,
                    {"code": code, "runs": count},
                )
            )
            stored = await history.storage.get_routine(rid, version)
            header = f"[steps.{element}]\n"
            if element and header in stored.source:
                source = stored.source.replace(header, header + "retry = {max_attempts = 3}\n")
                results.append(
                    Proposal(
                        rid,
                        version,
                        stored.routine.format,
                        source,
                        f"step {element!r} failed {count} times with {code}",
                    )
                )
        return results


@tool
def check_positive(n: int) -> dict[str, int]:
    """Fail on negative numbers."""
    if n < 0:
        raise ValueError("negative")
    return {"n": n}


FLOW = """
id = "checks"
start = "check"
[steps.check]
kind = "tool"
tool = "check_positive"
"""


class TestFailureClusters(AnalyzerConformance):
    @property
    def analyzer_class(self) -> type[Analyzer]:
        return FailureClusters

    @property
    def history_source(self) -> RoutineSource:
        return RoutineSource(FLOW, "checks.flow.toml")

    @property
    def history_inputs(self) -> list[Mapping[str, Any]]:
        return [{"n": -1}, {"n": 4}, {"n": -2}]

    @property
    def tools(self) -> list[Any]:
        return [check_positive]

    @property
    def expected_kinds(self) -> set[str]:
        return {"failure_cluster"}

    @property
    def proposes(self) -> bool:
        return True
