"""LangGraph's checkpoint saver interface over vrooli's ``StorageBackend``: one database holds both a
run's history and its graph's checkpoints (keyed by the run id as LangGraph's ``thread_id``).

Documents (any backend: memory, SQLite, PostgreSQL):

``langgraph.checkpoints``  ``<thread>|<ns>|<checkpoint id>``: the checkpoint and its metadata
                           (LangGraph's own serializer, base64), its parent
``langgraph.writes``       the same key: the checkpoint's pending writes (tasks' outputs, errors,
                           interrupts), which may arrive before the checkpoint itself is stored
``langgraph.threads``      ``<thread>|<ns>``: the checkpoint ids of that thread, oldest first

Only the asynchronous methods are implemented (the navigator runs graphs with ``astream``); the
synchronous ones raise, naming the asynchronous one to use.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Sequence
from typing import Any

import anyio
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
)

from vrooli_core.errors import NotFoundError
from vrooli_core.storage.base import StorageBackend

__all__ = ["CHECKPOINTS", "THREADS", "WRITES", "StorageSaver"]

CHECKPOINTS = "langgraph.checkpoints"
WRITES = "langgraph.writes"
THREADS = "langgraph.threads"


class StorageSaver(BaseCheckpointSaver[int]):
    """Checkpoints of LangGraph graphs kept in ``storage`` (opened by its owner, the engine)."""

    def __init__(self, storage: StorageBackend) -> None:
        super().__init__()
        self.storage = storage
        self._locks: dict[str, anyio.Lock] = {}

    # -- reading ----------------------------------------------------------------------------------

    async def aget_tuple(self, config: dict[str, Any]) -> CheckpointTuple | None:  # type: ignore[override]
        thread, ns = _thread(config)
        checkpoint_id = get_checkpoint_id(config)  # type: ignore[arg-type]
        if checkpoint_id is None:
            ids = await self._ids(thread, ns)
            if not ids:
                return None
            checkpoint_id = ids[-1]
        try:
            doc = await self.storage.get_doc(CHECKPOINTS, _key(thread, ns, checkpoint_id))
        except NotFoundError:
            return None
        return self._tuple(thread, ns, checkpoint_id, doc, await self._writes(_key(thread, ns, checkpoint_id)))

    async def alist(  # type: ignore[override]
        self,
        config: dict[str, Any] | None,
        *,
        filter: dict[str, Any] | None = None,
        before: dict[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        if config is None:
            raise NotImplementedError("listing checkpoints across threads is not supported: give a thread_id")
        thread, ns = _thread(config)
        wanted = get_checkpoint_id(config)  # type: ignore[arg-type]
        below = get_checkpoint_id(before) if before else None  # type: ignore[arg-type]
        count = 0
        for checkpoint_id in reversed(await self._ids(thread, ns)):
            if wanted is not None and checkpoint_id != wanted:
                continue
            if below is not None and checkpoint_id >= below:
                continue
            key = _key(thread, ns, checkpoint_id)
            found = self._tuple(thread, ns, checkpoint_id, await self.storage.get_doc(CHECKPOINTS, key), await self._writes(key))
            if filter and any(found.metadata.get(k) != v for k, v in filter.items()):
                continue
            yield found
            count += 1
            if limit is not None and count >= limit:
                return

    # -- writing ----------------------------------------------------------------------------------

    async def aput(  # type: ignore[override]
        self, config: dict[str, Any], checkpoint: Checkpoint, metadata: CheckpointMetadata, new_versions: ChannelVersions
    ) -> dict[str, Any]:
        thread, ns = _thread(config)
        parent = config["configurable"].get("checkpoint_id")
        doc = {
            "checkpoint": _pack(self.serde.dumps_typed(checkpoint)),
            "metadata": _pack(self.serde.dumps_typed(dict(metadata))),
            "parent": parent,
        }
        await self.storage.put_doc(CHECKPOINTS, _key(thread, ns, checkpoint["id"]), doc)
        ids = await self._ids(thread, ns)
        if checkpoint["id"] not in ids:
            ids.append(checkpoint["id"])
            ids.sort()
            await self.storage.put_doc(THREADS, f"{thread}|{ns}", {"ids": ids})
        return {"configurable": {"thread_id": thread, "checkpoint_ns": ns, "checkpoint_id": checkpoint["id"]}}

    async def aput_writes(  # type: ignore[override]
        self, config: dict[str, Any], writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        thread, ns = _thread(config)
        key = _key(thread, ns, config["configurable"]["checkpoint_id"])
        lock = self._locks.setdefault(key, anyio.Lock())
        async with lock:  # parallel tasks of one step write to the same document
            stored = await self._writes(key)
            for i, (channel, value) in enumerate(writes):
                idx = WRITES_IDX_MAP.get(channel, i)
                slot = f"{task_id}:{idx}"
                if idx >= 0 and slot in stored:
                    continue  # a write already recorded is not replaced (a task re-run after a crash)
                stored[slot] = {"task": task_id, "channel": channel, "value": _pack(self.serde.dumps_typed(value)), "path": task_path, "idx": idx}
            await self.storage.put_doc(WRITES, key, {"writes": stored})
        if not lock.locked():
            self._locks.pop(key, None)

    async def adelete_thread(self, thread_id: str) -> None:
        for doc_id, doc in await self.storage.list_docs(THREADS):
            thread, _, ns = doc_id.partition("|")
            if thread == thread_id:
                for checkpoint_id in doc.get("ids", []):
                    await self.storage.delete_doc(CHECKPOINTS, _key(thread, ns, checkpoint_id))
                    await self.storage.delete_doc(WRITES, _key(thread, ns, checkpoint_id))
                await self.storage.delete_doc(THREADS, doc_id)

    # -- the synchronous interface: not for graphs run by the navigator ---------------------------------

    def get_tuple(self, config: Any) -> CheckpointTuple | None:
        raise NotImplementedError("StorageSaver is asynchronous: use aget_tuple (run graphs with ainvoke/astream)")

    def list(self, config: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("StorageSaver is asynchronous: use alist")

    def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        raise NotImplementedError("StorageSaver is asynchronous: use aput")

    def put_writes(self, config: Any, writes: Any, task_id: str, task_path: str = "") -> None:
        raise NotImplementedError("StorageSaver is asynchronous: use aput_writes")

    # -- helpers ----------------------------------------------------------------------------------

    async def _ids(self, thread: str, ns: str) -> list[str]:
        try:
            return list((await self.storage.get_doc(THREADS, f"{thread}|{ns}"))["ids"])
        except NotFoundError:
            return []

    async def _writes(self, key: str) -> dict[str, Any]:
        try:
            return dict((await self.storage.get_doc(WRITES, key))["writes"])
        except NotFoundError:
            return {}

    def _tuple(self, thread: str, ns: str, checkpoint_id: str, doc: Any, stored: dict[str, Any]) -> CheckpointTuple:
        writes = sorted(stored.values(), key=lambda w: (w["task"], w["idx"]))
        parent = doc.get("parent")
        return CheckpointTuple(
            config={"configurable": {"thread_id": thread, "checkpoint_ns": ns, "checkpoint_id": checkpoint_id}},
            checkpoint=self.serde.loads_typed(_unpack(doc["checkpoint"])),
            metadata=self.serde.loads_typed(_unpack(doc["metadata"])),
            parent_config={"configurable": {"thread_id": thread, "checkpoint_ns": ns, "checkpoint_id": parent}} if parent else None,
            pending_writes=[(w["task"], w["channel"], self.serde.loads_typed(_unpack(w["value"]))) for w in writes],
        )


def _thread(config: dict[str, Any]) -> tuple[str, str]:
    configurable = config["configurable"]
    return str(configurable["thread_id"]), str(configurable.get("checkpoint_ns", ""))


def _key(thread: str, ns: str, checkpoint_id: str) -> str:
    return f"{thread}|{ns}|{checkpoint_id}"


def _pack(typed: tuple[str, bytes]) -> list[str]:
    return [typed[0], base64.b64encode(typed[1]).decode("ascii")]


def _unpack(packed: list[str]) -> tuple[str, bytes]:
    return packed[0], base64.b64decode(packed[1])
