"""``vrooli worker``: move runs from a shared store until stopped."""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

import click

from vrooli_core.cli._common import get_state, store_option
from vrooli_core.cli._lazy import CliError

if TYPE_CHECKING:
    import anyio


@click.command()
@click.option(
    "--concurrency", "-c", default=4, show_default=True, type=click.IntRange(min=1), help="Runs moved at once."
)
@click.option(
    "--lease",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    metavar="SECONDS",
    help="How long a run stays this worker's after its last renewal (another worker takes over a dead one's runs after that).",
)
@click.option(
    "--poll",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0.01),
    metavar="SECONDS",
    help="How often to look for runs that need a worker.",
)
@store_option
def worker(concurrency: int, lease: float, poll: float) -> None:
    """Move runs from the store until stopped (Ctrl-C or SIGTERM): runs another engine left
    unfinished, due timers, and timer starts. Start as many workers on one store as you like; a run
    is moved by one of them at a time."""
    import anyio

    from vrooli_core.engine import Engine

    state = get_state()
    url = state.store_url()
    if url.startswith("memory:"):
        raise CliError(
            f"a worker needs a store other processes share; {url!r} lives in this process only (pass --store)"
        )
    host, config = state.host(), state.config()

    async def main() -> None:
        stop = anyio.Event()
        async with Engine.open(
            url, host=host, path_policy=config.path_policy, max_concurrency=config.max_concurrency, lease=lease
        ) as engine:
            click.echo(f"worker {engine.owner} on {url}: up to {concurrency} runs at once", err=True)
            async with anyio.create_task_group() as tg:
                tg.start_soon(_stop_on_signal, stop)
                await engine.work(concurrency=concurrency, poll=poll, stop=stop)
                tg.cancel_scope.cancel()
        click.echo("worker stopped", err=True)

    anyio.run(main)


async def _stop_on_signal(stop: anyio.Event) -> None:
    import anyio

    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            stop.set()
            return
