"""What the storage conformance tests share: the backend factory a subclass supplies, and helpers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import cattrs

from vrooli_core.serialization import make_converter
from vrooli_core.storage.base import Commit, StorageBackend
from vrooli_core.testing.conformance import _storage_data as data
from vrooli_core.testing.conformance.base import ConformanceSuite


class Stores:
    """The backend under test, plus more instances opened on the same store (a restart)."""

    def __init__(self, suite: StorageSuiteBase, name: str) -> None:
        self.suite = suite
        self.name = name
        self.converter = make_converter()
        self._opened: list[StorageBackend] = []
        self.store: StorageBackend

    async def new(self, *, opened: bool = True) -> StorageBackend:
        """Another backend instance on the same store (opened unless ``opened=False``; an engine
        opens and closes the instances it is given itself)."""
        backend = await self.suite.make_storage(self.name, self.converter)
        if opened:
            await backend.open()
            self._opened.append(backend)
        return backend

    async def close(self) -> None:
        for backend in reversed(self._opened):
            await backend.close()


class StorageSuiteBase(ConformanceSuite, suite=True):
    """The properties a storage suite subclass supplies (documented on ``StorageConformance``)."""

    @property
    def backend_class(self) -> type[StorageBackend]:
        raise NotImplementedError(f"{type(self).__name__} must define the backend_class property")

    def storage_url(self, name: str) -> str:
        """The URL of the store called ``name`` (the same name: the same store)."""
        raise NotImplementedError(
            f"{type(self).__name__} must define storage_url(name) or make_storage(name, converter)"
        )

    async def make_storage(self, name: str, converter: cattrs.Converter) -> StorageBackend:
        """A backend instance, not yet opened, on the store called ``name``."""
        return self.backend_class.from_url(self.storage_url(name), converter=converter)

    async def drop_storage(self, name: str) -> None:
        """Remove the store called ``name`` once a test is done with it."""
        return None

    def check(self, body: Callable[[StorageBackend, Stores], Awaitable[None]]) -> None:
        """Run ``body(store, stores)`` with a freshly opened backend on a store of its own."""

        async def main() -> None:
            stores = Stores(self, self.unique_name("store"))
            try:
                stores.store = await stores.new()
                with anyio.fail_after(self.timeout):
                    await body(stores.store, stores)
            finally:
                try:
                    await stores.close()
                finally:
                    await self.drop_storage(stores.name)

        self.run_async(main)

    @staticmethod
    async def new_run(store: StorageBackend, run_id: str, events: int = 1, **kw: Any) -> None:
        """Create a run with ``events`` events (run.created, then variable writes)."""
        evs = (data.created(run_id), *(data.filler(run_id, s) for s in range(2, events + 1)))
        await store.commit(Commit(run_id, evs, data.run(run_id, last_seq=events, **kw)))
