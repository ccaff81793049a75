"""The storage backend conformance suite: the whole :class:`~vrooli_core.storage.StorageBackend`
contract (``storage_log``, ``storage_index``, ``storage_lease``), then real engine runs on the backend (``storage_engine``)."""

from __future__ import annotations

from vrooli_core.testing.conformance._storage_base import Stores
from vrooli_core.testing.conformance.storage_engine import StorageEngineTests
from vrooli_core.testing.conformance.storage_index import StorageIndexTests
from vrooli_core.testing.conformance.storage_lease import StorageLeaseTests
from vrooli_core.testing.conformance.storage_log import StorageLogTests

__all__ = ["StorageConformance", "Stores"]


class StorageConformance(StorageLogTests, StorageIndexTests, StorageLeaseTests, StorageEngineTests, suite=True):
    """Standard tests for a :class:`~vrooli_core.storage.StorageBackend` plugin.

    Subclass it as ``Test…`` and supply:

    ``backend_class``        (required) the backend
    ``storage_url(name)``    (required unless ``make_storage`` is overridden) the URL of the store
                             called ``name``: the same name always opens the same store, a new name a
                             new, empty one
    ``make_storage(name, converter)``  async; a backend instance (not yet opened) on store ``name``;
                             by default ``backend_class.from_url(storage_url(name), converter=…)``
    ``drop_storage(name)``   async; removes store ``name`` after a test (default: nothing)

    Every test uses a store of its own. A subclass may prepare resources in an autouse fixture
    method (``@pytest.fixture(autouse=True) def _db(self, tmp_path): self.dir = tmp_path``) and
    read them in ``storage_url``. Beyond the written contract of ``storage/base.py`` the suite
    pins down what the engine relies on: a refused commit writes nothing; values that cannot be
    stored as JSON are refused; ``read_events`` of an unknown run raises ``NotFoundError``;
    "newest first" means by creation (ties: the later created first), not by last update.
    """
