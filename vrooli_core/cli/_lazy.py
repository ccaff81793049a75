"""A click group whose subcommands are imported only when they run, and the CLI's error boundary."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click

from vrooli_core.errors import VrooliError

#: Exit code of bad input: invalid routines, configuration, plugin names, unknown runs or tasks.
EXIT_BAD_INPUT = 2


class CliError(click.ClickException):
    """An expected error, shown as one ``error: …`` line on stderr (never a traceback)."""

    exit_code = EXIT_BAD_INPUT

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


class LazyGroup(click.Group):
    """A group that knows its subcommands by import path and short help.

    ``lazy_commands`` maps a command name to ``("module:attribute", "short help")``. The short help is
    kept here so that ``--help`` lists every command without importing any of them (importing a
    command module is allowed to be slow; listing commands is not).
    """

    def __init__(self, *args: Any, lazy_commands: Mapping[str, tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            target = self.lazy_commands[cmd_name][0]
            module_name, _, attr = target.partition(":")
            command = getattr(importlib.import_module(module_name), attr)
            if not isinstance(command, click.Command):
                raise TypeError(f"{target} is not a click command")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                cmd = self.commands[name]
                if cmd.hidden:
                    continue
                rows.append((name, cmd.get_short_help_str(formatter.width)))
            else:
                rows.append((name, self.lazy_commands[name][1]))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        # The one place where vrooli's errors become messages and exit codes.
        try:
            return super().invoke(ctx)
        except VrooliError as exc:
            raise CliError(str(exc)) from exc
        except BaseExceptionGroup as group:
            expected = expected_error(group)
            if expected is None:
                raise
            if isinstance(expected, click.ClickException):
                raise expected from group
            raise CliError(str(expected)) from group


def expected_error(group: BaseExceptionGroup[Any]) -> VrooliError | click.ClickException | None:
    """The first expected error (a VrooliError or a click error) of a group whose every leaf is one:
    the engine's task groups wrap errors raised inside them. ``None`` when anything else is in it,
    so real bugs keep their traceback."""
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        exc = pending.pop()
        if isinstance(exc, BaseExceptionGroup):
            pending.extend(reversed(exc.exceptions))
        else:
            leaves.append(exc)
    if leaves and all(isinstance(e, (VrooliError, click.ClickException)) for e in leaves):
        first = leaves[0]
        assert isinstance(first, (VrooliError, click.ClickException))
        return first
    return None
