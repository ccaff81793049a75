"""The in-memory storage backend (kernel builtin): for tests, benchmarks and throwaway runs.

``memory://`` is a fresh store; ``memory://NAME`` is shared by every engine of the process that opens
the same name (so a test can "restart" an engine and resume from storage). With ``?verify=1`` every
event, run and snapshot is round-tripped through JSON, proving it would survive a real database.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self
from urllib.parse import parse_qs, urlsplit

import cattrs

from vrooli_core.errors import DuplicateEventError, LeaseHeldError, NotFoundError, StorageError
from vrooli_core.model import Event, RoutineDef, Run, RunStatus, Wait, WaitKind
from vrooli_core.serialization import dumps, loads
from vrooli_core.storage.base import Commit, StorageBackend, StoredRoutine


class _Data:
    def __init__(self) -> None:
        self.routines: dict[tuple[str, str], StoredRoutine] = {}
        self.runs: dict[str, Run] = {}
        self.events: dict[str, list[Event]] = {}
        self.snapshots: dict[str, tuple[int, Mapping[str, Any]]] = {}
        self.waits: dict[str, Wait] = {}
        self.docs: dict[str, dict[str, Mapping[str, Any]]] = {}
        #: run id -> (owner, until)
        self.leases: dict[str, tuple[str, float]] = {}


_SHARED: dict[str, _Data] = {}


class MemoryStorage(StorageBackend):
    name: ClassVar[str] = "memory"
    schemes: ClassVar[tuple[str, ...]] = ("memory",)
    snapshot_every: ClassVar[int | None] = None
    commit_leases: ClassVar[bool] = True

    def __init__(self, *, converter: cattrs.Converter, shared: str | None = None, verify: bool = False) -> None:
        self.converter = converter
        self.verify = verify
        self._d = _SHARED.setdefault(shared, _Data()) if shared else _Data()

    @classmethod
    def from_url(cls, url: str, *, converter: cattrs.Converter) -> Self:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        name = (parts.netloc + parts.path).strip("/") or None
        return cls(converter=converter, shared=name, verify=query.get("verify", ["0"])[0] in ("1", "true"))

    @staticmethod
    def forget(name: str) -> None:
        """Drop a shared store (tests)."""
        _SHARED.pop(name, None)

    def _rt(self, obj: Any, cls: type) -> Any:
        return loads(self.converter, dumps(self.converter, obj, cls), cls) if self.verify else obj

    async def put_routine(self, stored: StoredRoutine) -> None:
        key = (stored.routine.id, stored.routine.version)
        old = self._d.routines.get(key)
        if old is not None and old.routine.content_hash != stored.routine.content_hash:
            raise StorageError(
                f"routine {key[0]!r} version {key[1]!r} is already stored with different content"
            )
        self._d.routines[key] = self._rt(stored, StoredRoutine)

    async def get_routine(self, routine_id: str, version: str) -> StoredRoutine:
        try:
            return self._d.routines[(routine_id, version)]
        except KeyError:
            raise NotFoundError(f"no routine {routine_id!r} version {version!r}") from None

    async def list_routines(self, routine_id: str | None = None) -> list[RoutineDef]:
        return [s.routine for (rid, _), s in self._d.routines.items() if routine_id is None or rid == routine_id]

    async def commit(self, commit: Commit) -> None:
        # Check and (with verify) serialise everything first, then change anything: a commit is atomic.
        log = self._d.events.get(commit.run_id)
        if log is None and commit.run is None:
            raise NotFoundError(f"no run {commit.run_id!r}")
        expected = len(log or ()) + 1
        if commit.events:
            first = commit.events[0].seq
            if first < expected:
                raise DuplicateEventError(f"run {commit.run_id}: event {first} is already recorded")
            for offset, ev in enumerate(commit.events):
                if ev.seq != expected + offset or ev.run_id != commit.run_id:
                    raise StorageError(f"run {commit.run_id}: event {ev.seq} out of order (expected {expected + offset})")
        if commit.lease is not None:
            terms = commit.lease
            held = self._d.leases.get(commit.run_id)
            if held is not None and held[0] != terms.owner and held[1] > terms.now:
                raise LeaseHeldError(commit.run_id, held[0])
        events = [self._rt(ev, Event) for ev in commit.events] if self.verify else commit.events
        run = self._rt(commit.run, Run) if commit.run is not None else None
        waits = [self._rt(w, Wait) for w in commit.put_waits]
        if log is None:
            log = self._d.events[commit.run_id] = []
        log.extend(events)
        if run is not None:
            self._d.runs[commit.run_id] = run
        index = self._d.waits
        for wait_id in commit.drop_waits:
            index.pop(wait_id, None)
        for wait in waits:
            index[wait.id] = wait
        if commit.lease is not None:
            self._d.leases[commit.run_id] = (commit.lease.owner, commit.lease.until)
        if commit.release is not None:
            held = self._d.leases.get(commit.run_id)
            if held is not None and held[0] == commit.release:
                del self._d.leases[commit.run_id]

    async def get_run(self, run_id: str) -> Run:
        try:
            return self._d.runs[run_id]
        except KeyError:
            raise NotFoundError(f"no run {run_id!r}") from None

    async def list_runs(
        self,
        *,
        status: Sequence[RunStatus] | None = None,
        routine_id: str | None = None,
        parent_run_id: str | None = None,
        labels: Mapping[str, str] | None = None,
        limit: int = 100,
    ) -> list[Run]:
        found: list[Run] = []
        if limit <= 0:
            return found
        for run in reversed(self._d.runs.values()):
            if status is not None and run.status not in status:
                continue
            if routine_id is not None and run.routine.id != routine_id:
                continue
            if parent_run_id is not None and run.parent_run_id != parent_run_id:
                continue
            if labels and any(run.labels.get(k) != v for k, v in labels.items()):
                continue
            found.append(run)
            if len(found) >= limit:
                break
        return found

    async def read_events(self, run_id: str, after: int = 0, limit: int | None = None) -> list[Event]:
        if run_id not in self._d.events:
            raise NotFoundError(f"no run {run_id!r}")
        log = self._d.events[run_id]
        return log[after : None if limit is None else after + limit]

    async def save_snapshot(self, run_id: str, seq: int, state: Mapping[str, Any]) -> None:
        self._d.snapshots[run_id] = (seq, json.loads(json.dumps(state)) if self.verify else copy.deepcopy(state))

    async def load_snapshot(self, run_id: str) -> tuple[int, Mapping[str, Any]] | None:
        return self._d.snapshots.get(run_id)

    async def get_wait(self, wait_id: str) -> Wait:
        try:
            return self._d.waits[wait_id]
        except KeyError:
            raise NotFoundError(f"no open task or wait {wait_id!r}") from None

    async def find_waits(
        self,
        *,
        kinds: Sequence[WaitKind] | None = None,
        name: str | None = None,
        correlation: str | None = None,
        run_id: str | None = None,
        due_before: float | None = None,
        limit: int | None = None,
    ) -> list[Wait]:
        found = [
            w
            for w in self._d.waits.values()
            if (kinds is None or w.spec.kind in kinds)
            and (name is None or w.spec.name == name)
            and (correlation is None or w.spec.correlation == correlation)
            and (run_id is None or w.run_id == run_id)
            and (due_before is None or (w.spec.due is not None and w.spec.due <= due_before))
        ]
        if due_before is not None:
            found.sort(key=lambda w: w.spec.due or 0.0)
        return found if limit is None else found[:limit]

    async def put_doc(self, collection: str, doc_id: str, data: Mapping[str, Any]) -> None:
        self._d.docs.setdefault(collection, {})[doc_id] = copy.deepcopy(dict(data))

    async def get_doc(self, collection: str, doc_id: str) -> Mapping[str, Any]:
        try:
            return copy.deepcopy(self._d.docs[collection][doc_id])
        except KeyError:
            raise NotFoundError(f"no {collection} document {doc_id!r}") from None

    async def list_docs(self, collection: str) -> list[tuple[str, Mapping[str, Any]]]:
        return [(k, copy.deepcopy(v)) for k, v in self._d.docs.get(collection, {}).items()]

    async def delete_doc(self, collection: str, doc_id: str) -> None:
        self._d.docs.get(collection, {}).pop(doc_id, None)



    async def acquire_lease(self, run_id: str, owner: str, *, now: float, until: float) -> str | None:
        held = self._d.leases.get(run_id)
        if held is not None and held[0] != owner and held[1] > now:
            return held[0]
        self._d.leases[run_id] = (owner, until)
        return None

    async def release_lease(self, run_id: str, owner: str) -> None:
        held = self._d.leases.get(run_id)
        if held is not None and held[0] == owner:
            del self._d.leases[run_id]

    async def claim_runs(self, owner: str, *, now: float, until: float, due_before: float, limit: int) -> list[str]:
        if limit <= 0:
            return []
        leases = self._d.leases
        wanted = [r for r in self._d.runs.values() if r.status is RunStatus.RUNNING]
        timed = {w.run_id for w in self._d.waits.values() if w.spec.kind is WaitKind.TIMER and w.spec.due is not None and w.spec.due <= due_before}
        wanted += [r for rid in timed if (r := self._d.runs.get(rid)) is not None and r.status is RunStatus.WAITING]
        wanted.sort(key=lambda r: r.created_at)
        claimed = []
        for run in wanted:
            held = leases.get(run.id)
            if held is not None and held[1] > now:
                continue
            leases[run.id] = (owner, until)
            claimed.append(run.id)
            if len(claimed) >= limit:
                break
        return claimed
