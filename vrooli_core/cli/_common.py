"""What every command shares: global options, the plugin host, opening an engine, parsing values.

Imported by ``vrooli --help``, so only click and the standard library at module level.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from vrooli_core.cli._lazy import CliError

if TYPE_CHECKING:
    from vrooli_core.config import Config
    from vrooli_core.engine import Engine
    from vrooli_core.model import Run, Wait
    from vrooli_core.plugins import PluginHost

T = TypeVar("T")

MEMORY_HINT = (
    "hint: a memory:// store keeps nothing between vrooli commands; runs and tasks of earlier commands "
    "are gone (install vrooli-sqlalchemy and runs are kept in a SQLite file in your data directory, or pass --store)"
)


def make_host(strict: bool, config: Config | None = None) -> PluginHost:
    """The plugin host every command uses (tests replace this function to add plugins)."""
    from vrooli_core.plugins import PluginHost

    return PluginHost.create(strict=strict, config=config)


@dataclasses.dataclass
class CliState:
    """The global options, and what is derived from them on first use."""

    strict: bool = False
    store: str | None = None
    _config: Config | None = None
    _host: PluginHost | None = None

    def config(self) -> Config:
        """The project configuration (``vrooli.toml`` / ``[tool.vrooli]``), read once."""
        if self._config is None:
            from vrooli_core.config import Config

            self._config = Config.discover()
        return self._config

    def store_url(self) -> str:
        """``--store``, else ``$VROOLI_STORE``, else the configured store, else the default store (a
        SQLite file in the user's data directory with vrooli-sqlalchemy installed, else ``memory://``)."""
        explicit = self.store or os.environ.get("VROOLI_STORE") or self.config().store
        if explicit:
            return explicit
        from vrooli_core.storage.default import default_store_url

        return default_store_url(self.host())

    def host(self, *, warn: bool = True) -> PluginHost:
        """The plugin host, built once; with ``warn``, plugins that failed to load are named on stderr."""
        if self._host is None:
            self._host = make_host(self.strict, self.config())
            for info in self._host.failures() if warn else ():
                click.echo(
                    f"warning: plugin {info.name!r} failed to load ({info.error}); see `vrooli plugins`", err=True
                )
        return self._host


def get_state() -> CliState:
    """The CliState of the running command (a fresh one when a command is invoked on its own)."""
    return click.get_current_context().ensure_object(CliState)


def _set_store(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.ensure_object(CliState).store = value


def store_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--store URL`` on a subcommand too (``vrooli run flow.toml --store …``)."""
    return click.option(
        "--store",
        metavar="URL",
        expose_value=False,
        callback=_set_store,
        help="Storage URL (overrides the global --store).",
    )(fn)


def json_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``--json``: machine-readable output with stable keys."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON (stable keys) instead of tables.")(fn)


def with_engine(fn: Callable[[Engine], Awaitable[T]], *, hint: bool = False, progress: bool = False) -> T:
    """Open an engine on the configured store, await ``fn(engine)``, close it, return the result.

    Callers print and exit after this returns: anything raised inside the engine's task group comes
    back wrapped in an exception group. ``hint``: the command reads what earlier commands stored,
    so say so when the store cannot have kept it. ``progress``: the command moves runs; show which
    step they are at (on a terminal).
    """
    import anyio

    from vrooli_core.engine import Engine

    if hint:
        hint_if_memory()
    state = get_state()
    host = state.host()
    config = state.config()
    url = state.store_url()

    async def main() -> T:
        async with Engine.open(
            url, host=host, path_policy=config.path_policy, max_concurrency=config.max_concurrency
        ) as engine:
            if not progress:
                return await fn(engine)
            from vrooli_core.cli._progress import progress as show_progress

            with show_progress(engine):
                return await fn(engine)

    return anyio.run(main)


def routine_source(ref: str, fmt: str | None) -> Any:
    """The routine a command names: a file, else (a single line that is no file) a reference a
    navigator reads as text, such as a LangGraph ``module:graph`` (``--format``, or the navigator
    that claims it)."""
    from vrooli_core.engine import read_source
    from vrooli_core.model import RoutineSource

    path = Path(ref)
    if path.is_file():
        return read_source(path, fmt)
    if "\n" in ref or path.suffix in (".bpmn", ".toml", ".json", ".xml", ".yaml", ".yml", ".py"):
        raise click.BadParameter(f"file {ref!r} does not exist", param_hint="'FILE'")
    return RoutineSource(ref, None, fmt)


def hint_if_memory() -> None:
    """Say on stderr that a memory:// store forgets everything when the command ends."""
    if get_state().store_url().startswith("memory:"):
        click.echo(MEMORY_HINT, err=True)


def exit_for(run: Run) -> None:
    """Exit 1 when a run that this command moved ended failed or cancelled."""
    if run.status in ("failed", "cancelled"):
        raise click.exceptions.Exit(1)


# -- finding runs and tasks by id prefix ------------------------------------------------------------


async def resolve_run(engine: Engine, ref: str) -> str:
    """The id of the run whose id is ``ref`` or starts with it."""
    from vrooli_core.errors import NotFoundError

    try:
        return (await engine.get_run(ref)).id
    except NotFoundError:
        pass
    # Storage has no prefix query: scan the run list (fine for the stores a CLI user browses).
    ids = [r.id for r in await engine.list_runs(limit=1_000_000) if ref and r.id.startswith(ref)]
    return _unique("run", ref, ids)


async def resolve_task(engine: Engine, ref: str) -> Wait:
    """The open human task whose id is ``ref`` or starts with it."""
    tasks = await engine.tasks()
    exact = [t for t in tasks if t.id == ref]
    if exact:
        return exact[0]
    matches = {t.id: t for t in tasks if ref and t.id.startswith(ref)}
    return matches[_unique("open task", ref, list(matches))]


def _unique(what: str, ref: str, ids: Sequence[str]) -> str:
    from vrooli_core.errors import NotFoundError

    if not ids:
        raise NotFoundError(f"no {what} matches {ref!r}")
    if len(ids) > 1:
        shown = ", ".join(sorted(ids)[:5]) + (", ..." if len(ids) > 5 else "")
        raise CliError(f"{what} id {ref!r} is ambiguous: it matches {len(ids)} ({shown}); give more characters")
    return ids[0]


# -- parsing values ---------------------------------------------------------------------------------


def parse_pairs(pairs: Iterable[str], option: str) -> dict[str, Any]:
    """``key=value`` pairs; a value that is valid JSON is parsed (``n=3``, ``ok=true``), else a string."""
    result: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected key=value, got {pair!r}", param_hint=option)
        try:
            value: Any = json.loads(raw)
        except ValueError:
            value = raw
        result[key.strip()] = value
    return result


def parse_json(text: str | None, option: str) -> Any:
    """A JSON value given inline or as ``@file``."""
    if text is None:
        return None
    source = text
    if text.startswith("@"):
        try:
            source = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise click.BadParameter(f"cannot read {text[1:]}: {exc.strerror or exc}", param_hint=option) from None
    try:
        return json.loads(source)
    except ValueError as exc:
        raise click.BadParameter(f"invalid JSON: {exc}", param_hint=option) from None
