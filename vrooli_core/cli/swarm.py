"""``vrooli swarm run|resume|show|list|stop``: a team's agents working on one objective."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from vrooli_core.cli._common import hint_if_memory, json_option, store_option, with_engine
from vrooli_core.cli._lazy import CliError

if TYPE_CHECKING:
    from vrooli_core.coordination import Swarm
    from vrooli_core.coordination.model import SwarmEvent
    from vrooli_core.coordination.swarms import SwarmRunner
    from vrooli_core.engine import Engine
    from vrooli_core.model import Wait


@click.group()
def swarm() -> None:
    """Form a swarm of a team's agents for an objective, follow it, stop it. SWARM is a swarm id."""


def _runner_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """How the swarm plans and adapts (``run`` and ``resume``)."""
    options = [
        click.option("--plan", "plan_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="A plan (JSON, the planner's schema) to use instead of asking the planner."),
        click.option("--planner", "planner_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="A planner routine (any format) instead of the default one (a reasoning model step)."),
        click.option("--model", metavar="MODEL", help="The model the default planner asks (default: the model plugin's default)."),
        click.option("--model-chooses", is_flag=True, help="A model picks among the agents qualified for a task (default: the one with the fewest tasks)."),
        click.option("--on-failure", type=click.Choice(["replan", "escalate", "fail"]), default="replan", show_default=True, help="What a failed task leads to."),
        click.option("--escalate-to", metavar="PERSON", help="A person of the team who decides about failed tasks (retry, skip, stop)."),
        click.option("--max-parallel", type=click.IntRange(min=1), default=8, show_default=True, help="Tasks run at the same time."),
        click.option("--wait", "wait_for_people", is_flag=True, help="Wait for people's answers instead of returning while they are due."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@swarm.command("run")
@click.option("--team", "team_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The team file (TOML or YAML).")
@click.argument("objective")
@click.option("--agent", "agents", multiple=True, metavar="NAME", help="Recruit only these agents (repeatable; default: all).")
@click.option("--credits", type=click.FloatRange(min=0), help="The swarm's credit budget (default: the team's).")
@click.option("--seconds", type=click.FloatRange(min=0), help="Stop the swarm after this many seconds.")
@click.option("--rounds", type=click.IntRange(min=0), help="Stop after this many task runs.")
@click.option("--replans", type=click.IntRange(min=0), default=1, show_default=True, help="New plans allowed after failed tasks.")
@_runner_options
@store_option
@json_option
def run_swarm(team_file: Path, objective: str, agents: tuple[str, ...], credits: float | None, seconds: float | None, rounds: int | None, replans: int, as_json: bool, **options: Any) -> None:
    """Form a swarm of the team in --team for OBJECTIVE and run it until it finishes or waits for
    people; print its report. Exits 1 when the swarm fails or is cancelled."""
    from vrooli_core.coordination import SwarmLimits, load_team

    team = load_team(team_file)
    plan = _read_plan(options.pop("plan_file"))
    limits = SwarmLimits(credits=team.budget if credits is None else credits, seconds=seconds, rounds=rounds, replans=replans)

    async def go(engine: Engine) -> tuple[Swarm, list[Wait]]:
        runner = await _runner(engine, plan is not None, **options)
        with _progress(runner):
            result = await runner.run(team, objective, agents=agents or None, limits=limits, plan=plan)
        return result, await _open_tasks(engine, result)

    _finish(*with_engine(go), as_json)


@swarm.command("resume")
@click.argument("swarm_id", metavar="SWARM")
@_runner_options
@store_option
@json_option
def resume_swarm(swarm_id: str, as_json: bool, **options: Any) -> None:
    """Go on with SWARM (after a restart, or once people answered its tasks)."""
    options.pop("plan_file")

    async def go(engine: Engine) -> tuple[Swarm, list[Wait]]:
        runner = await _runner(engine, False, **options)
        with _progress(runner):
            result = await runner.resume(swarm_id)
        return result, await _open_tasks(engine, result)

    hint_if_memory()
    _finish(*with_engine(go), as_json)


@swarm.command("show")
@click.argument("swarm_id", metavar="SWARM")
@click.option("--events", is_flag=True, help="Also list the swarm's events.")
@store_option
@json_option
def show_swarm(swarm_id: str, events: bool, as_json: bool) -> None:
    """The plan, assignments, blackboard and spend of SWARM."""

    async def go(engine: Engine) -> tuple[Swarm, list[Wait]]:
        from vrooli_core.coordination import CoordinationStore

        found = await CoordinationStore(engine.storage).get_swarm(swarm_id)
        return found, await _open_tasks(engine, found)

    found, tasks = with_engine(go, hint=True)
    if as_json:
        _echo_swarm(found, tasks)
        return
    _print_swarm(found, tasks, events=events)


@swarm.command("list")
@store_option
@json_option
def list_swarms(as_json: bool) -> None:
    """Every stored swarm."""

    async def go(engine: Engine) -> list[Swarm]:
        from vrooli_core.coordination import CoordinationStore

        return await CoordinationStore(engine.storage).list_swarms()

    found = with_engine(go, hint=True)
    if as_json:
        from vrooli_core.cli._output import echo_json

        echo_json([{"id": s.id, "team": s.team_id, "objective": s.objective, "status": s.status.value, "spent": s.spent} for s in found])
        return
    from vrooli_core.cli._output import console, print_rows

    if not found:
        console().print("no swarms")
        return
    print_rows("swarms", ("swarm", "team", "status", "spent", "objective"), [(s.id, s.team_id, s.status.value, f"{s.spent:g}", s.objective) for s in found])


@swarm.command("stop")
@click.argument("swarm_id", metavar="SWARM")
@click.option("--reason", default="stopped by a person", show_default=True, help="Why (kept in the swarm's report).")
@store_option
@json_option
def stop_swarm(swarm_id: str, reason: str, as_json: bool) -> None:
    """Stop SWARM: its task runs are cancelled, it ends cancelled."""

    async def go(engine: Engine) -> tuple[Swarm, list[Wait]]:
        from vrooli_core.coordination.swarms import SwarmRunner

        result = await SwarmRunner(engine).stop(swarm_id, reason)
        return result, []

    hint_if_memory()
    _finish(*with_engine(go), as_json, fail_on_cancel=False)


# -- helpers -----------------------------------------------------------------------------------


async def _runner(
    engine: Engine,
    planned: bool,
    *,
    planner_file: Path | None,
    model: str | None,
    model_chooses: bool,
    on_failure: str,
    escalate_to: str | None,
    max_parallel: int,
    wait_for_people: bool,
) -> SwarmRunner:
    from vrooli_core.coordination.planner import default_planner
    from vrooli_core.coordination.swarms import SwarmRunner

    if planner_file is not None:
        planner: Any = await engine.load(planner_file)
    else:
        planner = default_planner(model)
    if (model_chooses or (planner_file is None and not planned)) and "reasoning" not in engine.executor.strategies:
        raise CliError(
            "the default planner and --model-chooses need a model plugin with a 'reasoning' strategy "
            "(pip install vrooli-litellm); or pass --plan FILE or --planner FILE"
        )
    try:
        chooser = "model" if model_chooses else None
        return SwarmRunner(engine, planner=planner, chooser=chooser, chooser_model=model, on_failure=on_failure, escalate_to=escalate_to, max_parallel=max_parallel, wait_for_people=wait_for_people)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _read_plan(path: Path | None) -> Any:
    if path is None:
        return None
    from vrooli_core.coordination.plan import PlanError, parse_plan

    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise CliError(f"{path}: not JSON (line {exc.lineno}: {exc.msg})") from None
    try:
        return parse_plan(data)
    except PlanError as exc:
        raise CliError(f"{path}: {exc}") from None


async def _open_tasks(engine: Engine, swarm: Swarm) -> list[Wait]:
    runs = {t.run_id for t in swarm.tasks if t.run_id} | ({swarm.escalation} if swarm.escalation else set())
    return [w for w in await engine.tasks() if w.run_id in runs]


@contextmanager
def _progress(runner: SwarmRunner) -> Iterator[None]:
    """Each swarm event as a line on stderr, under a spinner that counts tasks (on a terminal only)."""
    if not sys.stderr.isatty():
        yield
        return
    from rich.console import Console

    console = Console(stderr=True, highlight=False)
    with console.status("forming the swarm") as status:

        def on_event(swarm: Swarm, event: SwarmEvent) -> None:
            done = sum(1 for t in swarm.current_tasks() if t.status.value in ("completed", "skipped"))
            console.print(_event_line(event), markup=False)
            status.update(f"{done} of {len(swarm.current_tasks())} tasks done; {swarm.spent:g} credits spent")

        runner.on_event = on_event
        try:
            yield
        finally:
            runner.on_event = None


def _event_line(event: SwarmEvent) -> str:
    d = event.data
    if event.type.startswith("task."):
        who = f" by {d['assignee']}" if "assignee" in d else ""
        extra = f": {d['error']}" if "error" in d else ""
        return f"{event.type:<20} {d.get('task', '')}{who}{extra}"
    if event.type in ("swarm.planned", "swarm.replanned"):
        return f"{event.type:<20} {len(d.get('tasks', []))} tasks"
    detail = d.get("reason") or d.get("key") or d.get("objective") or ""
    return f"{event.type:<20} {detail}"


def _finish(found: Swarm, tasks: list[Wait], as_json: bool, *, fail_on_cancel: bool = True) -> None:
    if as_json:
        _echo_swarm(found, tasks)
    else:
        _print_swarm(found, tasks)
    if tasks:
        hint_if_memory()
    if found.status.value == "failed" or (fail_on_cancel and found.status.value == "cancelled"):
        raise click.exceptions.Exit(1)


def _echo_swarm(found: Swarm, tasks: list[Wait]) -> None:
    import attrs

    from vrooli_core.cli._output import echo_json, task_dict

    data = attrs.asdict(found)  # every field, defaults included: stable keys
    data["open_tasks"] = [task_dict(t) for t in tasks]
    echo_json(data)


def _print_swarm(found: Swarm, tasks: list[Wait], *, events: bool = False) -> None:
    from vrooli_core.cli._output import compact, console, print_rows, print_tasks, when

    out = console()
    out.print(f"swarm {found.id}: {found.status.value}" + (f" ({found.reason})" if found.reason else ""), markup=False)
    out.print(f"objective: {found.objective}", markup=False)
    out.print(f"team: {found.team_id}; agents: {', '.join(found.agents)}", markup=False)
    limit = "" if found.limits.credits is None else f" of {found.limits.credits:.4g}"
    out.print(f"spent: {found.spent:.4g}{limit} credits, ${found.cost:.4f}; {found.rounds} task runs; {found.replans} re-plans", markup=False)
    if found.tasks:
        rows = [
            (t.id, t.title, t.assignee, t.status.value, f"{t.spent:.4g}" + ("" if t.credits is None else f" of {t.credits:.4g}"), ", ".join(t.depends_on), (t.run_id or "").removeprefix(found.id + "."))
            for t in found.tasks
        ]
        print_rows("tasks", ("task", "title", "assignee", "status", "credits", "after", "run"), rows)
    board = found.blackboard.latest()
    if board:
        print_rows("blackboard", ("key", "value", "by", "at"), [(k, _short(compact(e.value)), f"{e.by} ({e.by_kind.value})", when(e.at)) for k, e in board.items()])
    if events:
        print_rows("events", ("#", "type", "at", "data"), [(str(e.seq), e.type, when(e.at), _short(compact(dict(e.data)))) for e in found.events])
    if tasks:
        print_tasks(tasks, out)
        out.print(f"then: vrooli swarm resume {found.id}", markup=False)


def _short(text: str, width: int = 120) -> str:
    """A table cell's text cut to ``width`` characters (``--json`` has it whole)."""
    return text if len(text) <= width else text[: width - 1] + "…"
