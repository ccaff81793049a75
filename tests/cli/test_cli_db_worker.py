"""``vrooli db``, ``vrooli worker`` and the default store (what a command uses without --store)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Self

import anyio
import click.testing
import pytest

from vrooli_core.cli import _common, main
from vrooli_core.engine import Engine
from vrooli_core.plugins import PluginHost, hookimpl
from vrooli_core.storage.default import default_store_url
from vrooli_core.storage.memory import MemoryStorage


class FileishStorage(MemoryStorage):
    """Pretends to open ``sqlite://`` URLs (a memory store per URL) and keeps a schema revision."""

    name: ClassVar[str] = "fileish"
    schemes: ClassVar[tuple[str, ...]] = ("sqlite",)
    revisions: ClassVar[dict[str, str | None]] = {}

    @classmethod
    def from_url(cls, url: str, *, converter: Any) -> Self:
        backend = cls(converter=converter, shared=url)
        backend.url = url
        return backend

    async def schema_current(self) -> str | None:
        return self.revisions.get(self.url)

    async def schema_head(self) -> str:
        return "r2"

    async def schema_upgrade(self, revision: str = "head") -> None:
        self.revisions[self.url] = "r2" if revision == "head" else revision

    async def schema_downgrade(self, revision: str) -> None:
        self.revisions[self.url] = None if revision == "base" else revision


class FileishPlugin:
    @hookimpl
    def vrooli_register_storage_backends(self) -> list[type]:
        return [FileishStorage]


@pytest.fixture
def fileish(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A host with the sqlite-opening backend, and $VROOLI_HOME in tmp_path; yields that home."""
    home = tmp_path / "home"
    monkeypatch.setenv("VROOLI_HOME", str(home))

    def make_host(strict: bool, config: Any = None) -> PluginHost:
        host = PluginHost.create(load_entrypoints=False)
        host.register(FileishPlugin(), "fileish")
        return host

    monkeypatch.setattr(_common, "make_host", make_host)
    yield home
    FileishStorage.revisions.clear()


def vrooli(*args: str) -> click.testing.Result:
    return click.testing.CliRunner().invoke(main, list(args))


def test_without_a_sqlite_backend_the_default_store_is_in_memory(monkeypatch, tmp_path):
    monkeypatch.setenv("VROOLI_HOME", str(tmp_path / "home"))
    assert default_store_url(PluginHost.create(load_entrypoints=False)) == "memory://"
    assert not (tmp_path / "home").exists()


def test_with_a_sqlite_backend_the_default_store_is_a_file_in_the_data_directory(fileish):
    host = PluginHost.create(load_entrypoints=False)
    host.register(FileishPlugin(), "fileish")
    assert default_store_url(host) == f"sqlite:///{fileish / 'vrooli.db'}"
    assert fileish.is_dir()

    async def opened() -> str:
        async with Engine.open(host=host) as engine:
            return engine.storage.url

    assert anyio.run(opened) == f"sqlite:///{fileish / 'vrooli.db'}"


def test_db_current_upgrade_and_downgrade_on_the_default_store(fileish):
    url = f"sqlite:///{fileish / 'vrooli.db'}"
    result = vrooli("db", "current")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"{url}: empty (no schema yet) (behind: the newest is r2)"
    assert vrooli("db", "upgrade").output.strip() == f"{url}: now at r2"
    result = vrooli("db", "current", "--json")
    assert '"up_to_date": true' in result.output and '"current": "r2"' in result.output
    assert vrooli("db", "downgrade", "base").output.strip() == f"{url}: now at base (empty)"
    assert (
        vrooli("--store", "sqlite:///elsewhere.db", "db", "upgrade", "r1").output.strip()
        == "sqlite:///elsewhere.db: now at r1"
    )


def test_db_on_a_store_without_migrations_is_a_clear_error():
    result = vrooli("--store", "memory://", "db", "current")
    assert result.exit_code == 2
    assert "memory storage has no schema revisions" in result.output


def test_a_worker_needs_a_shared_store():
    result = vrooli("--store", "memory://x", "worker")
    assert result.exit_code == 2
    assert "a worker needs a store other processes share" in result.output
    assert vrooli("worker", "--concurrency", "0").exit_code == 2
