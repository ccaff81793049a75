"""The ``vrooli`` command line.

Only this module and :mod:`vrooli_core.cli._lazy` are imported for ``vrooli --help``: every command
lives in its own module, imported when it runs, and heavy imports (the engine, rich, plugins) happen
inside command functions.
"""

from __future__ import annotations

import click

from vrooli_core.cli._common import CliState
from vrooli_core.cli._lazy import LazyGroup

__all__ = ["main"]

_COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("vrooli_core.cli.run:run", "Run a routine file until it completes or waits."),
    "runs": ("vrooli_core.cli.runs:runs", "List, show, resume, cancel, fork and replay runs."),
    "tasks": ("vrooli_core.cli.tasks:tasks", "List and complete human tasks."),
    "plugins": ("vrooli_core.cli.plugins:plugins", "Show installed plugins and what they provide."),
    "graph": ("vrooli_core.cli.graph:graph", "Draw a routine (Mermaid text, or SVG with --svg)."),
    "worker": ("vrooli_core.cli.worker:worker", "Move runs from a shared store until stopped."),
    "db": ("vrooli_core.cli.db:db", "Show or migrate the store's schema revision."),
    "swarm": ("vrooli_core.cli.swarm:swarm", "Run a team's agents on an objective; show, resume or stop swarms."),
}

_EPILOG = """\
\b
Exit codes:
  0  success (a run that rests waiting for a task is a success)
  1  the run failed or was cancelled
  2  bad input: invalid routine, configuration, plugin name, unknown run or task, usage error
"""


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from vrooli_core import __version__
    from vrooli_core.plugins import installed_distributions

    click.echo(f"vrooli-core {__version__}")
    # Reads distribution metadata only: listing versions must not import (or break on) any plugin.
    dists = [(name, version) for name, version in installed_distributions() if name != "vrooli-core"]
    if dists:
        click.echo("plugins:")
        for name, version in dists:
            click.echo(f"  {name} {version}")
    else:
        click.echo("plugins: none installed")
    ctx.exit(0)


@click.group(
    cls=LazyGroup,
    lazy_commands=_COMMANDS,
    epilog=_EPILOG,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version of vrooli-core and of every installed plugin, and exit.",
)
@click.option("--strict-plugins", is_flag=True, help="Treat a plugin that fails to load as a fatal error.")
@click.option(
    "--store",
    metavar="URL",
    help="Storage URL (default: $VROOLI_STORE, then `store` of vrooli.toml, else a SQLite file in the user data directory with vrooli-sqlalchemy installed, else memory://).",
)
@click.pass_context
def main(ctx: click.Context, strict_plugins: bool, store: str | None) -> None:
    """vrooli: run AI routines (BPMN, LangGraph, flows, ...) on one engine."""
    ctx.obj = CliState(strict=strict_plugins, store=store)
