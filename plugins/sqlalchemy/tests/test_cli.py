"""``vrooli db`` (the kernel's CLI) on this plugin's stores, and the default store it makes possible.
The CLI builds its plugin host from the installed entry points, as it does for a user."""

from __future__ import annotations

import json
from pathlib import Path

import click.testing
import pytest
from vrooli_sqlalchemy import migrate

from vrooli_core.cli import main


def vrooli(*args: str) -> click.testing.Result:
    result = click.testing.CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def test_vrooli_db_current_upgrade_downgrade(db_url: str) -> None:
    def current() -> dict[str, object]:
        data: dict[str, object] = json.loads(vrooli("db", "current", "--store", db_url, "--json").stdout)
        return data

    assert current() == {"store": db_url, "current": None, "head": migrate.head(), "up_to_date": False}
    assert vrooli("db", "upgrade", "--store", db_url).stdout.strip().endswith(f"now at {migrate.head()}")
    assert current()["up_to_date"] is True
    assert "now at base (empty)" in vrooli("db", "downgrade", "base", "--store", db_url).stdout
    assert migrate.current(db_url) is None


def test_the_default_store_is_a_sqlite_file_in_the_data_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VROOLI_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("VROOLI_STORE", raising=False)
    monkeypatch.chdir(tmp_path)  # no vrooli.toml naming another store
    vrooli("db", "upgrade")
    assert migrate.current(f"sqlite:///{tmp_path / 'home' / 'vrooli.db'}") == migrate.head()
