"""The plugin's registration, its import cost, and store URLs."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import anyio
import pytest
from vrooli_sqlalchemy import SQLStorage
from vrooli_sqlalchemy.url import parse_url

from vrooli_core.engine import open_storage
from vrooli_core.errors import ConfigError, StorageError
from vrooli_core.plugins import PluginHost
from vrooli_core.serialization import make_converter


def test_entry_point() -> None:
    (entry,) = metadata.entry_points(group="vrooli", name="sqlalchemy")
    assert entry.value == "vrooli_sqlalchemy.plugin"


def test_registering_the_plugin_does_not_import_sqlalchemy() -> None:
    """``vrooli --help`` imports every plugin module (which imports nothing more), and listing
    backends imports the backend class: neither may cost a SQLAlchemy or alembic import."""
    script = (
        "import sys, vrooli_sqlalchemy.plugin\n"
        "assert 'vrooli_sqlalchemy.backend' not in sys.modules\n"
        "from vrooli_core.plugins import PluginHost\n"
        "host = PluginHost.create(load_entrypoints=False)\n"
        "host.register(vrooli_sqlalchemy.plugin, 'sqlalchemy')\n"
        "assert 'sqlalchemy' in host.storage_backends()\n"
        "print(sorted(m for m in ('sqlalchemy', 'alembic', 'psycopg') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_urls_pick_this_backend(host: PluginHost, tmp_path: Path) -> None:
    for url in (f"sqlite:///{tmp_path}/a.db", "postgresql://u@h/db", "postgresql+psycopg://u@h/db"):
        assert isinstance(open_storage(host, url, make_converter()), SQLStorage)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:////tmp/x/a.db", {"dialect": "sqlite", "driver_url": "sqlite:////tmp/x/a.db", "migrate": True}),
        ("sqlite:////tmp/a.db?synchronous=normal&busy_timeout=100", {"synchronous": "NORMAL", "busy_timeout": 100}),
        ("sqlite:////tmp/a.db?migrate=0", {"migrate": False}),
        (
            "postgresql://app:secret@db.example:5433/vrooli?schema=runs&sslmode=require",
            {
                "dialect": "postgresql",
                "driver_url": "postgresql+psycopg://app:secret@db.example:5433/vrooli?sslmode=require",
                "display": "postgresql://app:***@db.example:5433/vrooli?schema=runs&sslmode=require",
                "schema": "runs",
            },
        ),
        ("postgresql+psycopg://u@h/d?migrate=false", {"driver_url": "postgresql+psycopg://u@h/d", "migrate": False}),
    ],
)
def test_url_forms(url: str, expected: dict[str, object]) -> None:
    parsed = parse_url(url)
    assert {k: getattr(parsed, k) for k in expected} == expected


def test_relative_sqlite_path_is_fixed_when_parsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert parse_url("sqlite:///data/v.db").path == tmp_path / "data" / "v.db"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://", "names a file"),
        ("sqlite:///:memory:", "memory://"),
        ("sqlite:///a.db?synchronous=off", "synchronous"),
        ("sqlite:///a.db?busy_timeout=soon", "busy_timeout"),
        ("sqlite:///a.db?pool=3", "unknown option"),
        ("sqlite:///a.db?migrate=maybe", "migrate"),
        ("postgresql:///db", "names a server"),
        ("postgresql://u:pw@host", "names a database"),
        ("postgresql://u:pw@host/db?schema=a;drop", "schema"),
        ("mysql://u@h/db", "not a SQL store URL"),
    ],
)
def test_bad_urls_are_config_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        SQLStorage.from_url(url, converter=make_converter())
    assert "pw" not in str(info.value), "a password was shown"


def test_a_closed_store_says_so(tmp_path: Path) -> None:
    async def main() -> None:
        store = SQLStorage.from_url(f"sqlite:///{tmp_path}/a.db", converter=make_converter())
        with pytest.raises(StorageError, match="not open"):
            await store.get_run("x")
        await store.open()
        await store.close()
        with pytest.raises(StorageError, match="not open"):
            await store.list_runs()

    anyio.run(main)


def test_an_unreachable_server_is_a_storage_error() -> None:
    async def main() -> None:
        store = SQLStorage.from_url(
            "postgresql://nobody:pw@127.0.0.1:9/nothing?connect_timeout=2", converter=make_converter()
        )
        with pytest.raises(StorageError, match=r"postgresql://nobody:\*\*\*@127\.0\.0\.1:9/nothing") as info:
            await store.open()
        assert "pw@" not in str(info.value)

    anyio.run(main)
