"""The kernel's storage conformance suite, on a SQLite file and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sql_servers import PostgresServer, schema_name
from vrooli_sqlalchemy import SQLStorage

from vrooli_core.testing.conformance import StorageConformance


class TestSQLiteStorage(StorageConformance):
    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path: Path) -> None:
        self.folder = tmp_path

    @property
    def backend_class(self) -> type[SQLStorage]:
        return SQLStorage

    def storage_url(self, name: str) -> str:
        return f"sqlite:///{self.folder / name}.db"


class TestPostgreSQLStorage(StorageConformance):
    @pytest.fixture(autouse=True)
    def _server(self, postgres: PostgresServer) -> None:
        self.server = postgres
        self.schemas: dict[str, str] = {}

    @property
    def backend_class(self) -> type[SQLStorage]:
        return SQLStorage

    def storage_url(self, name: str) -> str:
        return self.server.url(self.schemas.setdefault(name, schema_name(name)))

    async def drop_storage(self, name: str) -> None:
        if name in self.schemas:
            self.server.drop(self.schemas.pop(name))
