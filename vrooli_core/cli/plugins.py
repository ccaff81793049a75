"""``vrooli plugins``: what is installed, what loaded, and what each plugin provides."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from vrooli_core.cli._common import get_state, json_option

if TYPE_CHECKING:
    from vrooli_core.plugins import PluginInfo


def plugin_dict(info: PluginInfo) -> dict[str, Any]:
    """One plugin as JSON (stable keys)."""
    dist, version = _origin(info)
    return {
        "name": info.name,
        "status": info.status,
        "distribution": dist,
        "version": version,
        "provides": {kind: list(names) for kind, names in sorted(info.provides.items())},
        "error": info.error,
    }


@click.command()
@click.option("--all", "show_all", is_flag=True, help="Include the kernel builtins.")
@json_option
def plugins(show_all: bool, as_json: bool) -> None:
    """Show installed plugins: status (loaded, failed, blocked), distribution, version and what
    each provides. A plugin that failed to load is listed with its error (with --strict-plugins it
    is fatal instead)."""
    from vrooli_core.plugins import BUILTIN

    # No warning on stderr: this command reports failed plugins itself.
    host = get_state().host(warn=False)
    infos = [i for i in host.plugins() if show_all or i.name != BUILTIN]
    if as_json:
        from vrooli_core.cli._output import echo_json

        echo_json([plugin_dict(i) for i in infos])
        return
    _print(infos)


def _print(infos: list[PluginInfo]) -> None:
    from rich.table import Table

    from vrooli_core.cli._output import console

    out = console()
    if not infos:
        out.print("no plugins installed (only the kernel builtins; --all shows them)")
        return
    table = Table(title="plugins", title_justify="left")
    for col in ("name", "status", "distribution", "version", "provides"):
        table.add_column(col)
    for info in infos:
        provides = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in sorted(info.provides.items()))
        dist, version = _origin(info)
        table.add_row(info.name, info.status, dist or "-", version or "-", provides or "-")
    out.print(table)
    for info in infos:
        if info.error:
            out.print(f"{info.name}: {info.error}", style="red")


def _origin(info: PluginInfo) -> tuple[str | None, str | None]:
    from vrooli_core import __version__
    from vrooli_core.plugins import BUILTIN

    # The kernel builtins are registered as a module, not an entry point, so the host knows no
    # distribution for them; they ship with vrooli-core.
    if info.name == BUILTIN and info.dist is None:
        return "vrooli-core", __version__
    return info.dist, info.version
