"""``vrooli graph FILE``: a picture of a routine (Mermaid text or SVG); and the picture of a run for
``vrooli runs show RUN --graph``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from vrooli_core.cli._common import get_state, resolve_run, with_engine
from vrooli_core.cli._lazy import CliError

if TYPE_CHECKING:
    from vrooli_core.engine import Engine
    from vrooli_core.engine.navigator import Navigator
    from vrooli_core.model import RoutineSource
    from vrooli_core.picture import Picture


@click.command()
@click.argument("file", metavar="FILE|REFERENCE")
@click.option(
    "--format", "fmt", metavar="NAME", help="The navigator to read FILE with (default: the one that claims it)."
)
@click.option("--mermaid", "kind", flag_value="mermaid", help="Mermaid flowchart text (the default).")
@click.option("--svg", "kind", flag_value="svg", help="SVG, at the file's diagram coordinates when it has them.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the picture to this file instead of stdout (a name ending in .svg means --svg).",
)
def graph(file: str, fmt: str | None, kind: str | None, output: Path | None) -> None:
    """Draw the routine in FILE (or named by REFERENCE, such as a LangGraph ``module:graph``):
    Mermaid text on stdout, or SVG with --svg.

    A file that does not load for running is still drawn when its navigator can read it leniently
    (a BPMN model with unsupported elements, say); the reason it cannot run is printed as a warning.
    """
    from vrooli_core.cli._common import routine_source

    source = routine_source(file, fmt)
    navigator = _navigator(source)
    emit(draw(navigator, source), kind, output)


def show_run_graph(run_ref: str, *, kind: str | None, output: Path | None) -> None:
    """``vrooli runs show RUN --graph``: the run's routine version, its visited steps coloured."""
    from vrooli_core.errors import RoutineError
    from vrooli_core.picture import visits

    async def go(engine: Engine) -> tuple[Picture, dict[str, int]]:
        run_id = await resolve_run(engine, run_ref)
        run = await engine.get_run(run_id)
        picture = await _run_picture(engine, run.routine.id, run.routine.version, run.routine.format)
        title = f"{picture.title or run.routine.id} v{run.routine.version}: run {run.id} ({run.status})"
        history = await engine.history(run_id)
        try:  # the navigator knows the elements tokens passed without stopping (gateways, events)
            graph = await engine.graph(run.routine.id, run.routine.version)
            counted = engine.navigator(run.routine.format).visits(graph, history)
        except RoutineError:  # the version no longer loads: its steps' visits only
            counted = visits(history)
        return _retitled(picture, title), counted

    picture, visited = with_engine(go, hint=True)
    emit(picture, kind, output, visited)


def draw(navigator: Navigator, source: RoutineSource) -> Picture:
    """``navigator.picture`` of the loaded routine; when it does not load and the navigator can draw
    raw sources (``picture_of_source``), that picture, with the load error as its first warning."""
    from vrooli_core.errors import RoutineError

    try:
        return navigator.picture(navigator.load(source))
    except RoutineError as exc:
        fallback = getattr(navigator, "picture_of_source", None)
        if fallback is None:
            raise
        picture: Picture = fallback(source)
        return _warned(picture, f"the routine cannot run, so it is drawn as read leniently: {exc}")


def emit(picture: Picture, kind: str | None, output: Path | None, visited: dict[str, int] | None = None) -> None:
    """Print the picture's warnings on stderr, then write it (SVG or Mermaid) to ``output`` or stdout."""
    from vrooli_core.picture import to_mermaid, to_svg

    for warning in picture.warnings:
        click.echo(f"warning: {warning}", err=True)
    if kind is None:
        kind = "svg" if output is not None and output.suffix.lower() == ".svg" else "mermaid"
    text = to_svg(picture, visited) if kind == "svg" else to_mermaid(picture, visited)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"wrote {output}", err=True)


def _navigator(source: RoutineSource) -> Navigator:
    """The navigator named by ``--format``, else the first installed one that claims the file."""
    navigators = get_state().host().navigators()
    if source.format:
        return navigators[source.format]()
    for cls in navigators.values():
        navigator = cls()
        if navigator.accepts(source):
            return navigator
    installed = ", ".join(f"{name} ({', '.join(cls.suffixes) or 'by content'})" for name, cls in navigators.items())
    raise CliError(
        f"no installed navigator reads {source.path or source.text!r} (installed: {installed or 'none'}); "
        "install the plugin for its format (e.g. vrooli-bpmn for .bpmn files) or pass --format"
    )


async def _run_picture(engine: Engine, routine_id: str, version: str, fmt: str) -> Picture:
    """The picture of a stored routine version (drawn leniently when it no longer loads)."""
    from vrooli_core.errors import RoutineError
    from vrooli_core.model import RoutineSource

    navigator = engine.navigator(fmt)
    try:
        return navigator.picture(await engine.graph(routine_id, version))
    except RoutineError:
        if not hasattr(navigator, "picture_of_source"):
            raise
        stored = await engine.storage.get_routine(routine_id, version)
        return draw(navigator, RoutineSource(stored.source, stored.path, fmt))


def _warned(picture: Picture, warning: str) -> Picture:
    import attrs

    return attrs.evolve(picture, warnings=(warning, *picture.warnings))


def _retitled(picture: Picture, title: str) -> Picture:
    import attrs

    return attrs.evolve(picture, title=title)


__all__ = ["draw", "emit", "graph", "show_run_graph"]
