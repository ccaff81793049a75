"""``vrooli run FILE``: load a routine, run it until it rests, report what happened."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from vrooli_core.cli._common import (
    exit_for,
    hint_if_memory,
    json_option,
    parse_json,
    parse_pairs,
    store_option,
    with_engine,
)

if TYPE_CHECKING:
    from vrooli_core.engine import Engine
    from vrooli_core.model import Run, Wait


@click.command()
@click.argument("file", metavar="FILE|REFERENCE")
@click.option(
    "--input",
    "-i",
    "pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="An input (repeatable); JSON values are parsed, anything else is a string.",
)
@click.option(
    "--inputs-json",
    metavar="JSON|@FILE",
    help="All inputs as a JSON object, inline or from a file; --input entries override.",
)
@click.option(
    "--format", "fmt", metavar="NAME", help="The navigator to read FILE with (default: the one that claims it)."
)
@click.option(
    "--max-steps", type=click.IntRange(min=1), metavar="N", help="Fail the run when it would take more steps than this."
)
@store_option
@json_option
def run(
    file: str, pairs: tuple[str, ...], inputs_json: str | None, fmt: str | None, max_steps: int | None, as_json: bool
) -> None:
    """Run the routine in FILE (or named by REFERENCE, such as a LangGraph ``module:graph``) until it
    completes, fails, or waits (for a human task, a message, a timer, ...), then print its status,
    outputs and open tasks.

    Exits 1 when the run fails or is cancelled; a run waiting for a task is a success.
    """
    from vrooli_core.cli._common import routine_source
    from vrooli_core.model import Limits

    inputs = _inputs(pairs, inputs_json)
    limits = Limits(max_steps=max_steps)
    source = routine_source(file, fmt)

    async def go(engine: Engine) -> tuple[Run, list[Wait]]:
        routine = await engine.load(source)
        result = await engine.run(routine, inputs, limits=limits)
        return result, await engine.tasks(run_id=result.id, descendants=True)

    result, tasks = with_engine(go, progress=True)
    if as_json:
        from vrooli_core.cli._output import echo_json, run_report

        echo_json(run_report(result, tasks))
    else:
        from vrooli_core.cli._output import print_run

        print_run(result, tasks)
    if tasks:
        # The tasks can only be completed by a later command when the store outlives this one.
        hint_if_memory()
    exit_for(result)


def _inputs(pairs: tuple[str, ...], inputs_json: str | None) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    if inputs_json is not None:
        value = parse_json(inputs_json, "--inputs-json")
        if not isinstance(value, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--inputs-json")
        inputs.update(value)
    inputs.update(parse_pairs(pairs, "--input"))
    return inputs
