"""Storage: the backend contract and the builtin in-memory backend."""

from vrooli_core.storage.base import Commit, StorageBackend, StoredRoutine

__all__ = ["Commit", "StorageBackend", "StoredRoutine"]
