"""LangGraph's checkpoint saver interface over vrooli's ``StorageBackend``: one database holds both a
run's history and its graph's checkpoints (keyed by the run id as LangGraph's ``thread_id``).

Documents (any backend: memory, SQLite, PostgreSQL):

``langgraph.checkpoints``  ``<thread>|<ns>|<checkpoint id>``: the checkpoint and its metadata
                           (LangGraph's own serializer, base64), its parent
``langgraph.writes``       the same key: the ids of the tasks that wrote for that checkpoint
``langgraph.task_writes``  ``<checkpoint key>|<task id>``: one task's pending writes (outputs,
                           errors, interrupts), which may arrive before the checkpoint is stored
``langgraph.threads``      ``<thread>|<ns>``: the thread's latest checkpoint id (the others are
                           found through each checkpoint's parent)

A checkpoint costs two document writes (the checkpoint, the thread's latest id) and one more per task
that writes; nothing is read back while a graph runs (the saver remembers what it wrote), so the cost
of a step does not grow with the run.

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

__all__ = ["CHECKPOINTS", "TASK_WRITES", "THREADS", "WRITES", "StorageSaver"]

CHECKPOINTS = "langgraph.checkpoints"
WRITES = "langgraph.writes"
TASK_WRITES = "langgraph.task_writes"
THREADS = "langgraph.threads"


class _Index:
    """The task ids of a checkpoint's writes: stored (``saved``) and to store (``wanted``)."""

    def __init__(self, saved: set[str]) -> None:
        self.saved = saved
        self.wanted = set(saved)


class StorageSaver(BaseCheckpointSaver[int]):
    """Checkpoints of LangGraph graphs kept in ``storage`` (opened by its owner, the engine)."""

    def __init__(self, storage: StorageBackend) -> None:
        super().__init__()
        self.storage = storage
        self._locks: dict[str, anyio.Lock] = {}
        #: what this saver wrote or read: the pending writes of a checkpoint, a thread's latest id
        self._pending: dict[str, dict[str, Any]] = {}
        self._indexes: dict[str, _Index] = {}
        self._latest: dict[str, str] = {}

    # -- reading ----------------------------------------------------------------------------------

    async def aget_tuple(self, config: dict[str, Any]) -> CheckpointTuple | None:  # type: ignore[override]
        thread, ns = _thread(config)
        checkpoint_id = get_checkpoint_id(config)  # type: ignore[arg-type]
        if checkpoint_id is None:
            # Read from storage, not remembered: another process may have moved the thread since
            # (a graph starts or resumes here, so this is once per execution).
            self._latest.pop(f"{thread}|{ns}", None)
            checkpoint_id = await self._latest_id(thread, ns)
            if checkpoint_id is None:
                return None
        key = _key(thread, ns, checkpoint_id)
        try:
            doc = await self.storage.get_doc(CHECKPOINTS, key)
        except NotFoundError:
            return None
        writes = await self._writes(key)
        self._pending[key] = dict(writes)  # what later writes add to
        self._indexes.pop(key, None)
        return self._tuple(thread, ns, checkpoint_id, doc, writes)

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
        checkpoint_id = await self._latest_id(thread, ns)
        while checkpoint_id is not None:  # the latest checkpoint's lineage, newest first
            key = _key(thread, ns, checkpoint_id)
            try:
                doc = await self.storage.get_doc(CHECKPOINTS, key)
            except NotFoundError:
                return
            if (wanted is None or checkpoint_id == wanted) and (below is None or checkpoint_id < below):
                found = self._tuple(thread, ns, checkpoint_id, doc, await self._writes(key))
                if not filter or all(found.metadata.get(k) == v for k, v in filter.items()):
                    yield found
                    count += 1
                    if limit is not None and count >= limit:
                        return
            checkpoint_id = doc.get("parent")

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
        latest = await self._latest_id(thread, ns)
        if latest is None or checkpoint["id"] > latest:  # checkpoint ids grow with time (uuid6)
            await self.storage.put_doc(THREADS, f"{thread}|{ns}", {"latest": checkpoint["id"]})
            self._latest[f"{thread}|{ns}"] = checkpoint["id"]
        return {"configurable": {"thread_id": thread, "checkpoint_ns": ns, "checkpoint_id": checkpoint["id"]}}

    async def aput_writes(  # type: ignore[override]
        self, config: dict[str, Any], writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        thread, ns = _thread(config)
        key = _key(thread, ns, config["configurable"]["checkpoint_id"])
        known = self._pending.get(key)
        if known is None:
            loaded = await self._writes(key)
            known = self._pending.setdefault(key, loaded)  # (another task may have loaded it meanwhile)
        slots = {slot: w for slot, w in known.items() if w["task"] == task_id}
        for i, (channel, value) in enumerate(writes):
            idx = WRITES_IDX_MAP.get(channel, i)
            slot = f"{task_id}:{idx}"
            if idx >= 0 and slot in slots:
                continue  # a write already recorded is not replaced (a task re-run after a crash)
            slots[slot] = {"task": task_id, "channel": channel, "value": _pack(self.serde.dumps_typed(value)), "path": task_path, "idx": idx}
        await self.storage.put_doc(TASK_WRITES, f"{key}|{task_id}", {"writes": slots})
        known.update(slots)
        # The index of the checkpoint's tasks: written once for every task that is waiting by then
        # (parallel branches arrive together), and before any of them returns.
        index = self._indexes.setdefault(key, _Index({w["task"] for w in known.values() if w["task"] != task_id}))
        index.wanted.add(task_id)
        if task_id not in index.saved:
            lock = self._locks.setdefault(key, anyio.Lock())
            async with lock:
                if task_id not in index.saved:
                    batch = set(index.wanted)
                    await self.storage.put_doc(WRITES, key, {"tasks": sorted(batch | index.saved)})
                    index.saved |= batch
            if not lock.locked():
                self._locks.pop(key, None)
        if len(self._pending) > 64:  # only the latest checkpoints take writes
            for old in list(self._pending)[:-32]:
                del self._pending[old]
                self._indexes.pop(old, None)

    async def adelete_thread(self, thread_id: str) -> None:
        for doc_id, doc in await self.storage.list_docs(THREADS):
            thread, _, ns = doc_id.partition("|")
            if thread != thread_id:
                continue
            checkpoint_id = doc.get("latest")
            while checkpoint_id is not None:
                key = _key(thread, ns, checkpoint_id)
                try:
                    parent = (await self.storage.get_doc(CHECKPOINTS, key)).get("parent")
                except NotFoundError:
                    parent = None
                for slot in await self._writes(key):
                    await self.storage.delete_doc(TASK_WRITES, f"{key}|{slot.partition(':')[0]}")
                await self.storage.delete_doc(CHECKPOINTS, key)
                await self.storage.delete_doc(WRITES, key)
                self._pending.pop(key, None)
                checkpoint_id = parent
            await self.storage.delete_doc(THREADS, doc_id)
            self._latest.pop(doc_id, None)

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

    async def _latest_id(self, thread: str, ns: str) -> str | None:
        key = f"{thread}|{ns}"
        known = self._latest.get(key)
        if known is not None:
            return known
        try:
            latest = str((await self.storage.get_doc(THREADS, key))["latest"])
        except NotFoundError:
            return None
        self._latest[key] = latest
        return latest

    async def _writes(self, key: str) -> dict[str, Any]:
        """The pending writes of checkpoint ``key``, by slot (``<task id>:<index>``)."""
        try:
            tasks = (await self.storage.get_doc(WRITES, key))["tasks"]
        except NotFoundError:
            return {}
        found: dict[str, Any] = {}
        for task_id in tasks:
            try:
                found.update((await self.storage.get_doc(TASK_WRITES, f"{key}|{task_id}"))["writes"])
            except NotFoundError:
                continue  # the index was written, the task's writes not yet (a crash between)
        return found

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
