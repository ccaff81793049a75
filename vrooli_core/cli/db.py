"""``vrooli db current|upgrade|downgrade``: the schema revision of the store (for backends with
migrations, such as vrooli-sqlalchemy's SQLite and PostgreSQL stores)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from vrooli_core.cli._common import get_state, json_option, store_option

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from vrooli_core.storage import StorageBackend


@click.group()
def db() -> None:
    """The store's schema revision: show it, migrate it up or down. The store is the one every
    command uses (--store, $VROOLI_STORE, vrooli.toml, else the default store)."""


def _on_backend(action: Callable[[StorageBackend], Awaitable[Any]]) -> Any:
    """Run ``action`` on the store's backend, not opened (opening may migrate it by itself)."""
    import anyio

    from vrooli_core.engine.engine import open_storage
    from vrooli_core.serialization import make_converter

    state = get_state()
    host = state.host()
    converter = make_converter()
    host.configure_converter(converter)
    backend = open_storage(host, state.store_url(), converter)
    return anyio.run(action, backend)


@db.command("current")
@store_option
@json_option
def current(as_json: bool) -> None:
    """Show the store's schema revision and the newest one this code knows."""

    async def go(backend: StorageBackend) -> tuple[str | None, str]:
        return await backend.schema_current(), await backend.schema_head()

    revision, head = _on_backend(go)
    url = get_state().store_url()
    if as_json:
        from vrooli_core.cli._output import echo_json

        echo_json({"store": url, "current": revision, "head": head, "up_to_date": revision == head})
        return
    state = "up to date" if revision == head else f"behind: the newest is {head}"
    click.echo(f"{url}: {revision or 'empty (no schema yet)'} ({state})")


def _migrate(move: Callable[[StorageBackend], Awaitable[None]]) -> None:
    """Migrate with ``move`` and say where the store is now."""

    async def go(backend: StorageBackend) -> str | None:
        await move(backend)
        return await backend.schema_current()

    click.echo(f"{get_state().store_url()}: now at {_on_backend(go) or 'base (empty)'}")


@db.command("upgrade")
@click.argument("revision", default="head")
@store_option
def upgrade(revision: str) -> None:
    """Migrate the store up to REVISION (default: the newest)."""
    _migrate(lambda backend: backend.schema_upgrade(revision))


@db.command("downgrade")
@click.argument("revision")
@store_option
def downgrade(revision: str) -> None:
    """Migrate the store down to REVISION (``base`` removes every table vrooli made)."""
    _migrate(lambda backend: backend.schema_downgrade(revision))
