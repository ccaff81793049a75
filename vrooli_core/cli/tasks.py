"""``vrooli tasks list|complete``: the human tasks runs are waiting for."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from vrooli_core.cli._common import (
    exit_for,
    json_option,
    parse_json,
    parse_pairs,
    resolve_run,
    resolve_task,
    store_option,
    with_engine,
)
from vrooli_core.cli._lazy import CliError

if TYPE_CHECKING:
    from vrooli_core.engine import Engine
    from vrooli_core.model import Run, Wait


@click.group()
def tasks() -> None:
    """List and complete human tasks (person tasks, approvals, path choices). TASK and RUN may be
    any unique prefix of an id."""


@tasks.command("list")
@click.option("--run", "run_ref", metavar="RUN", help="Only the tasks of this run (and of its child runs: what it waits for).")
@store_option
@json_option
def list_tasks(run_ref: str | None, as_json: bool) -> None:
    """List open tasks, with the command that completes each."""

    async def go(engine: Engine) -> list[Wait]:
        run_id = await resolve_run(engine, run_ref) if run_ref is not None else None
        return await engine.tasks(run_id=run_id, descendants=True)

    found = with_engine(go, hint=True)
    from vrooli_core.cli._output import echo_json, print_tasks, task_dict

    if as_json:
        echo_json([task_dict(t) for t in found])
    else:
        print_tasks(found)


@tasks.command("complete")
@click.argument("task_ref", metavar="TASK")
@click.option(
    "--output",
    "-o",
    "pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="A field of the answer (repeatable); JSON values are parsed.",
)
@click.option(
    "--output-json",
    metavar="JSON|@FILE",
    help="The answer as JSON, inline or from a file; --output fields are merged into an object.",
)
@click.option("--choice", metavar="OPTION", help="The option chosen (path choices, tasks with options).")
@click.option("--approve/--reject", "approve", default=None, help="Approve or reject (approval tasks).")
@store_option
@json_option
def complete(
    task_ref: str,
    pairs: tuple[str, ...],
    output_json: str | None,
    choice: str | None,
    approve: bool | None,
    as_json: bool,
) -> None:
    """Complete TASK with an answer, then let its run move on until it rests again.

    Exits 1 when the run then fails or is cancelled (a rejected approval fails its step).
    """
    fields = parse_pairs(pairs, "--output")
    given = parse_json(output_json, "--output-json")

    async def go(engine: Engine) -> tuple[Run, list[Wait]]:
        task = await resolve_task(engine, task_ref)
        answer = build_answer(task, fields, given, output_json is not None, choice, approve)
        result = await engine.complete_task(task.id, answer)
        return result, await engine.tasks(run_id=result.id, descendants=True)

    result, open_tasks = with_engine(go, hint=True, progress=True)
    from vrooli_core.cli._output import echo_json, print_run, run_report

    if as_json:
        echo_json(run_report(result, open_tasks))
    else:
        print_run(result, open_tasks)
    exit_for(result)


def build_answer(
    task: Wait, fields: dict[str, Any], given: Any, has_json: bool, choice: str | None, approve: bool | None
) -> Any:
    """The answer handed to ``Engine.complete_task``.

    A lone ``--choice`` is the option string (what path choices expect); a lone ``--output-json`` is
    its value as is; otherwise the answer is an object of the fields given, with ``choice`` and
    ``approved`` keys for ``--choice`` and ``--approve/--reject``.
    """
    spec = task.spec
    if choice is not None and spec.options and choice not in spec.options:
        raise CliError(f"task {task.id}: {choice!r} is not one of {', '.join(spec.options)}")
    if str(spec.kind) == "choice" and choice is None:
        raise CliError(f"task {task.id} is a path choice: pass --choice {'|'.join(spec.options)}")
    answer: dict[str, Any] = {}
    if has_json:
        if not isinstance(given, dict):
            if fields or choice is not None or approve is not None:
                raise click.BadParameter(
                    "must be a JSON object when combined with --output, --choice or --approve/--reject",
                    param_hint="--output-json",
                )
            return given
        answer.update(given)
    answer.update(fields)
    if approve is not None:
        answer["approved"] = approve
    if choice is not None:
        if not answer:
            return choice
        answer["choice"] = choice
    return answer or None
