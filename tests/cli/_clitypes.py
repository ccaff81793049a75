"""Types of the CLI test fixtures, for annotations."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import Result

#: ``invoke(*args)`` runs ``vrooli --store <the test's store> *args``.
Invoke = Callable[..., Result]
#: ``write_flow(name, text)`` writes a flow file into the test's directory.
WriteFlow = Callable[[str, str], Path]
#: ``out_json(result)`` is the JSON the command printed.
OutJson = Callable[[Result], Any]
#: ``start_run(text)`` runs a flow and returns its JSON report.
StartRun = Callable[..., dict[str, Any]]
