"""The storage conformance suite, run against the builtin in-memory backend (with verify=1)."""

from __future__ import annotations

from vrooli_core.storage.memory import MemoryStorage
from vrooli_core.testing.conformance import StorageConformance


class TestMemoryStorage(StorageConformance):
    @property
    def backend_class(self) -> type[MemoryStorage]:
        return MemoryStorage

    def storage_url(self, name: str) -> str:
        return f"memory://{name}?verify=1"

    async def drop_storage(self, name: str) -> None:
        MemoryStorage.forget(name)
