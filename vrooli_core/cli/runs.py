"""``vrooli runs list|show|resume|cancel|checkpoints|fork|replay``: look at runs, move them, travel in their history."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vrooli_core.cli._common import exit_for, json_option, resolve_run, store_option, with_engine

if TYPE_CHECKING:
    from vrooli_core.engine import Engine
    from vrooli_core.engine.timetravel import Checkpoint, ReplayReport
    from vrooli_core.model import Run, Wait

_STATUSES = ("running", "waiting", "paused", "completed", "failed", "cancelled")


@click.group()
def runs() -> None:
    """List, show, resume, cancel, fork and replay runs. RUN may be any unique prefix of a run id."""


@runs.command("list")
@click.option(
    "--status", "statuses", multiple=True, type=click.Choice(_STATUSES), help="Only runs with this status (repeatable)."
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    metavar="N",
    default=50,
    show_default=True,
    help="At most this many runs, newest first.",
)
@store_option
@json_option
def list_runs(statuses: tuple[str, ...], limit: int, as_json: bool) -> None:
    """List runs, newest first."""
    from vrooli_core.model import RunStatus

    wanted = [RunStatus(s) for s in statuses] or None

    async def go(engine: Engine) -> list[Run]:
        return await engine.list_runs(status=wanted, limit=limit)

    found = with_engine(go, hint=True)
    if as_json:
        from vrooli_core.cli._output import echo_json, run_dict

        echo_json([run_dict(r) for r in found])
        return
    from vrooli_core.cli._output import console, print_rows, when

    if not found:
        console().print("no runs")
        return
    rows = [
        (r.id, f"{r.routine.id} v{r.routine.version}", str(r.status), str(r.steps), when(r.created_at)) for r in found
    ]
    print_rows(
        "runs",
        ("run", "routine", "status", "steps", "created"),
        rows,
        no_wrap={"run": max(len(r.id) for r in found), "created": 19},
    )


@runs.command("show")
@click.argument("run_ref", metavar="RUN")
@click.option("--events", is_flag=True, help="Also show the run's event log.")
@click.option("--graph", "as_graph", is_flag=True, help="Draw the routine instead, colouring the steps the run visited.")
@click.option("--svg", is_flag=True, help="With --graph: SVG instead of Mermaid text.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="With --graph: write to this file.")
@store_option
@json_option
def show(run_ref: str, events: bool, as_graph: bool, svg: bool, output: Path | None, as_json: bool) -> None:
    """Show a run: status, outputs, error, open tasks (and, with --events, its history).

    With --graph, draw the run's routine version instead (Mermaid, or SVG with --svg), the steps the
    run visited coloured and counted.
    """
    if as_graph or svg or output:
        if not as_graph or events or as_json:
            raise click.UsageError("--svg and --output go with --graph, which does not combine with --events or --json")
        from vrooli_core.cli.graph import show_run_graph

        show_run_graph(run_ref, kind="svg" if svg else None, output=output)
        return

    async def go(engine: Engine) -> tuple[Run, list[Wait], list[dict[str, Any]] | None]:
        from vrooli_core.cli._output import event_dict

        run_id = await resolve_run(engine, run_ref)
        history = [event_dict(engine.converter, e) for e in await engine.history(run_id)] if events else None
        return await engine.get_run(run_id), await engine.tasks(run_id=run_id, descendants=True), history

    found, tasks, history = with_engine(go, hint=True)
    if as_json:
        from vrooli_core.cli._output import echo_json, run_report

        echo_json(run_report(found, tasks, history))
        return
    from vrooli_core.cli._output import compact, print_rows, print_run

    print_run(found, tasks)
    if history is not None:
        rows = [(str(e["seq"]), e["type"], compact(e.get("data") or {})) for e in history]
        print_rows("events", ("seq", "type", "data"), rows)


@runs.command("resume")
@click.argument("run_ref", metavar="RUN")
@store_option
@json_option
def resume(run_ref: str, as_json: bool) -> None:
    """Continue a paused run (or one left running by a stopped process) until it rests."""

    async def go(engine: Engine) -> tuple[Run, list[Wait]]:
        run_id = await resolve_run(engine, run_ref)
        result = await engine.resume(run_id)
        return result, await engine.tasks(run_id=run_id, descendants=True)

    _report(*with_engine(go, hint=True, progress=True), as_json=as_json)


@runs.command("cancel")
@click.argument("run_ref", metavar="RUN")
@click.option("--reason", default="", help="Why (recorded in the run's history).")
@store_option
@json_option
def cancel(run_ref: str, reason: str, as_json: bool) -> None:
    """Cancel an unfinished run."""

    async def go(engine: Engine) -> tuple[Run, list[Wait]]:
        run_id = await resolve_run(engine, run_ref)
        return await engine.cancel(run_id, reason or "cancelled from the command line"), []

    # Cancelling is what was asked: exit 0 when the run ends cancelled.
    _report(*with_engine(go, hint=True), as_json=as_json, check=False)


def _report(result: Run, tasks: list[Wait], *, as_json: bool, check: bool = True) -> None:
    from vrooli_core.cli._output import echo_json, print_run, run_report

    if as_json:
        echo_json(run_report(result, tasks))
    else:
        print_run(result, tasks)
    if check:
        exit_for(result)


# -- time travel ------------------------------------------------------------------------------------


@runs.command("checkpoints")
@click.argument("run_ref", metavar="RUN")
@store_option
@json_option
def checkpoints(run_ref: str, as_json: bool) -> None:
    """List the positions a run can be forked from (see `vrooli runs fork`)."""

    async def go(engine: Engine) -> list[Checkpoint]:
        return await engine.checkpoints(await resolve_run(engine, run_ref))

    found = with_engine(go, hint=True)
    if as_json:
        from vrooli_core.cli._output import echo_json

        echo_json([checkpoint_dict(c) for c in found])
        return
    from vrooli_core.cli._output import compact, console, print_rows, when

    if not found:
        console().print("no checkpoints: the run never rested between transitions")
        return
    rows = [
        (str(c.seq), when(c.at), c.description, ", ".join(c.locations), compact(dict(c.changed)) if c.changed else "")
        for c in found
    ]
    print_rows("checkpoints", ("seq", "time", "what happened", "tokens at", "changed"), rows, no_wrap={"seq": 3, "time": 19})


@runs.command("fork")
@click.argument("run_ref", metavar="RUN")
@click.option("--at", "at", type=int, required=True, metavar="SEQ", help="The checkpoint to fork from (its seq).")
@click.option(
    "--set",
    "pairs",
    multiple=True,
    metavar="NAME=JSON",
    help="Set a variable in the fork (repeatable); JSON values are parsed.",
)
@store_option
@json_option
def fork(run_ref: str, at: int, pairs: tuple[str, ...], as_json: bool) -> None:
    """Start a new run from a checkpoint of RUN, with variables changed, and move it until it rests.
    RUN itself is not touched."""
    from vrooli_core.cli._common import parse_pairs

    values = parse_pairs(pairs, "--set")

    async def go(engine: Engine) -> tuple[Run, list[Wait]]:
        run_id = await resolve_run(engine, run_ref)
        result = await engine.fork(run_id, at, variables=values)
        return result, await engine.tasks(run_id=result.id, descendants=True)

    result, tasks = with_engine(go, hint=True, progress=True)
    if not as_json:
        click.echo(f"forked from {result.labels['forked_from']} at event {at}")
    _report(result, tasks, as_json=as_json)


@runs.command("replay")
@click.argument("run_ref", metavar="RUN")
@click.option(
    "--routine",
    "routine_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Replay against this routine file (by default: the run's own version). It is read, not stored.",
)
@store_option
@json_option
def replay(run_ref: str, routine_file: Path | None, as_json: bool) -> None:
    """Ask the routine's navigator every recorded decision of RUN again and compare. Exits 1 at the
    first divergence, which is printed."""

    async def go(engine: Engine) -> ReplayReport:
        return await engine.replay(await resolve_run(engine, run_ref), routine_file)

    report = with_engine(go, hint=True)
    if as_json:
        from vrooli_core.cli._output import echo_json

        echo_json(replay_dict(report))
    else:
        _print_replay(report)
    if not report.matched:
        raise click.exceptions.Exit(1)


def checkpoint_dict(c: Checkpoint) -> dict[str, Any]:
    """A checkpoint as JSON. Keys are stable; new keys may be added."""
    return {
        "seq": c.seq,
        "at": c.at,
        "type": c.type,
        "description": c.description,
        "locations": list(c.locations),
        "changed": dict(c.changed),
        "waiting": list(c.waiting),
    }


def replay_dict(report: ReplayReport) -> dict[str, Any]:
    """A replay report as JSON. Keys are stable; new keys may be added."""
    d = report.divergence
    r = report.routine
    return {
        "run_id": report.run_id,
        "routine": {"id": r.id, "version": r.version or None, "format": r.format},
        "matched": report.matched,
        "events": report.events,
        "decisions": report.decisions,
        "divergence": None
        if d is None
        else {
            "seq": d.seq,
            "type": d.type,
            "element": d.element,
            "token": d.token,
            "reason": d.reason,
            "recorded": d.recorded,
            "fresh": d.fresh,
            "error": d.error,
        },
    }


def _print_replay(report: ReplayReport) -> None:
    from vrooli_core.cli._output import compact

    r = report.routine
    version = f"v{r.version}" if r.version else "(not stored)"
    rows = [("run", report.run_id), ("routine", f"{r.id} {version} ({r.format})")]
    d = report.divergence
    if d is None:
        rows.append(("result", f"matches: {report.events} events, {report.decisions} decisions asked again"))
    else:
        where = f", {d.element}" if d.element else ""
        rows += [("result", f"diverges at event {d.seq} ({d.type}{where})"), ("reason", d.reason)]
        rows += [("recorded", compact(d.recorded)), ("now", "-" if d.fresh is None else compact(d.fresh))]
        if d.error:
            rows.append(("error", d.error))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"{key.ljust(width)}  {value}")
