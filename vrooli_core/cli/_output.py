"""Output of the commands: JSON with stable keys, and small rich tables for people.

Imported only by commands that print runs or tasks, so importing rich here is fine.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import click
from rich.console import Console
from rich.table import Table

from vrooli_core.model import Event, Run, Wait, WaitKind


def console() -> Console:
    """A console on stdout for tables."""
    # markup off: routine ids, messages and values may contain [brackets] that are not rich markup.
    return Console(highlight=False, markup=False, emoji=False)


def echo_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout."""
    click.echo(json.dumps(data, indent=2, default=_json_default))


def _json_default(obj: Any) -> Any:
    # Variables may hold values JSON has no type for; show them rather than fail the whole output.
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    if attrs.has(type(obj)):
        return attrs.asdict(obj)
    return repr(obj)


# -- JSON shapes ------------------------------------------------------------------------------------


def run_dict(run: Run) -> dict[str, Any]:
    """A run as JSON. Keys are stable; new keys may be added."""
    error = run.error
    return {
        "id": run.id,
        "routine": {"id": run.routine.id, "version": run.routine.version, "format": run.routine.format},
        "status": str(run.status),
        "inputs": dict(run.inputs),
        "outputs": None if run.outputs is None else dict(run.outputs),
        "steps": run.steps,
        "usage": attrs.asdict(run.usage),
        "limits": attrs.asdict(run.limits),
        "error": None
        if error is None
        else {"code": error.code, "message": error.message, "type": error.type, "element": error.element},
        "parent_run_id": run.parent_run_id,
        "labels": dict(run.labels),
        "created_at": run.created_at,
        "updated_at": run.updated_at,
    }


def task_dict(task: Wait) -> dict[str, Any]:
    """An open human task as JSON."""
    spec = task.spec
    return {
        "id": task.id,
        "run_id": task.run_id,
        "kind": "approval" if spec.form.get("approval") else str(spec.kind),
        "title": spec.name,
        "options": list(spec.options),
        "form": dict(spec.form),
        "assignee": spec.assignee,
        "created_at": task.created_at,
        "complete": complete_hint(task),
    }


def event_dict(converter: Any, event: Event) -> dict[str, Any]:
    """An event as the storage format writes it: run_id, seq, at, type, data."""
    return converter.unstructure(event, unstructure_as=Event)  # type: ignore[no-any-return]


def run_report(run: Run, tasks: Sequence[Wait], events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The JSON of ``run``, ``runs show`` and ``tasks complete``."""
    data: dict[str, Any] = {"run": run_dict(run), "tasks": [task_dict(t) for t in tasks]}
    if events is not None:
        data["events"] = events
    return data


# -- for people -------------------------------------------------------------------------------------


def complete_hint(task: Wait) -> str:
    """The command that completes ``task``."""
    spec = task.spec
    if spec.form.get("approval"):
        how = "--approve  (or --reject)"
    elif spec.kind is WaitKind.CHOICE or spec.options:
        how = "--choice " + "|".join(spec.options)
    else:
        how = "--output key=value ..."
    return f"vrooli tasks complete {task.id} {how}"


def when(ts: float) -> str:
    """An epoch time as local date and time."""
    return datetime.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def compact(value: Any) -> str:
    """A value on one line: strings as they are, anything else as JSON."""
    return json.dumps(value, default=_json_default) if not isinstance(value, str) else value


def print_run(run: Run, tasks: Sequence[Wait]) -> None:
    """A run's summary and its open tasks."""
    rows = [
        ("run", run.id),
        ("routine", f"{run.routine.id} v{run.routine.version} ({run.routine.format})"),
        ("status", str(run.status)),
        ("steps", str(run.steps)),
    ]
    if run.inputs:
        rows.append(("inputs", compact(dict(run.inputs))))
    if run.outputs is not None:
        rows.append(("outputs", compact(dict(run.outputs))))
    if run.error is not None:
        where = f" at {run.error.element}" if run.error.element else ""
        rows.append(("error", f"{run.error.code}{where}: {run.error.message}"))
    rows.append(("updated", when(run.updated_at)))
    # Plain aligned lines, not a rich grid: long values (outputs, errors) stay whole and greppable.
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"{key.ljust(width)}  {value}")
    if tasks:
        click.echo()
        print_tasks(tasks)


def print_tasks(tasks: Sequence[Wait], out: Console | None = None) -> None:
    """A table of open tasks, then how to complete each."""
    out = out or console()
    if not tasks:
        out.print("no open tasks")
        return
    with_options = any(t.spec.options for t in tasks)
    table = Table(title="open tasks", title_justify="left")
    table.add_column("task", no_wrap=True, min_width=max(len(t.id) for t in tasks))
    table.add_column("run", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("title")
    if with_options:
        table.add_column("options")
    for t in tasks:
        d = task_dict(t)
        row = [t.id, t.run_id[:12], d["kind"], d["title"]]
        table.add_row(*row, *([", ".join(t.spec.options)] if with_options else []))
    out.print(table)
    out.print("complete with:")
    for t in tasks:
        out.print("  " + complete_hint(t), soft_wrap=True)


def print_rows(
    title: str, columns: Iterable[str], rows: Iterable[Sequence[str]], no_wrap: Mapping[str, int] | None = None
) -> None:
    """A simple table; ``no_wrap`` names columns (with a minimum width) that must stay on one line."""
    table = Table(title=title, title_justify="left")
    for col in columns:
        width = (no_wrap or {}).get(col)
        table.add_column(col, no_wrap=width is not None, min_width=width)
    for row in rows:
        table.add_row(*row)
    console().print(table)
