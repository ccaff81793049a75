"""Teams and swarms kept in a storage backend's documents.

Collections: ``teams``; ``swarms`` (a swarm without its events); ``swarm_events`` (a swarm's events
in chunks of ``EVENT_CHUNK``, so storing a swarm after each change rewrites only its latest chunk);
``swarm_blackboard`` (its blackboard's writes, chunked the same way); ``swarm_stops`` (a person's stop, written by whoever asks, read by the runner moving the swarm) and
``swarm_movers`` (which runner moves a swarm, until when: its heartbeat).
"""

from __future__ import annotations

from typing import Any, TypeVar

import attrs
import cattrs

from vrooli_core.coordination.model import Blackboard, Entry, Swarm, SwarmEvent, Team
from vrooli_core.errors import NotFoundError, StorageError
from vrooli_core.serialization import make_converter
from vrooli_core.storage.base import StorageBackend

__all__ = ["SWARMS", "TEAMS", "CoordinationStore"]

TEAMS = "teams"
SWARMS = "swarms"
EVENTS = "swarm_events"
BOARD = "swarm_blackboard"
STOPS = "swarm_stops"
MOVERS = "swarm_movers"
EVENT_CHUNK = 64
_T = TypeVar("_T", Team, Swarm)


@attrs.define
class CoordinationStore:
    """Reads and writes teams and swarms through ``storage`` (opened by its owner, e.g. an
    :class:`~vrooli_core.Engine`). ``put_*`` replaces the document of the same id."""

    storage: StorageBackend
    converter: cattrs.Converter = attrs.field(factory=make_converter)
    #: per swarm, how many of its events this store has written (the chunks before are final)
    _written: dict[tuple[str, str], int] = attrs.field(factory=dict, init=False, repr=False)

    async def put_team(self, team: Team) -> None:
        await self.storage.put_doc(TEAMS, team.id, self.converter.unstructure(team, Team))

    async def get_team(self, team_id: str) -> Team:
        """``NotFoundError`` when there is no team ``team_id``."""
        return self._structure(await self._get(TEAMS, "team", team_id), Team, team_id)

    async def list_teams(self) -> list[Team]:
        return [self._structure(doc, Team, doc_id) for doc_id, doc in await self.storage.list_docs(TEAMS)]

    async def delete_team(self, team_id: str) -> None:
        """Deleting a team that does not exist is not an error; its swarms are kept."""
        await self.storage.delete_doc(TEAMS, team_id)

    async def put_swarm(self, swarm: Swarm) -> None:
        events, writes = swarm.events, swarm.blackboard.writes
        await self._put_chunks(EVENTS, swarm.id, events, tuple[SwarmEvent, ...])
        await self._put_chunks(BOARD, swarm.id, writes, tuple[Entry, ...])
        doc = self.converter.unstructure(attrs.evolve(swarm, events=(), blackboard=Blackboard()), Swarm)
        doc["event_count"], doc["write_count"] = len(events), len(writes)
        await self.storage.put_doc(SWARMS, swarm.id, doc)

    async def _put_chunks(self, collection: str, swarm_id: str, items: tuple[Any, ...], kind: Any) -> None:
        """Write the chunks of ``items`` not written yet: the last one written, and any after it."""
        written = self._written.get((collection, swarm_id), 0)
        first = written // EVENT_CHUNK if written <= len(items) else 0
        for chunk in range(first, (len(items) + EVENT_CHUNK - 1) // EVENT_CHUNK):
            part = items[chunk * EVENT_CHUNK : (chunk + 1) * EVENT_CHUNK]
            await self.storage.put_doc(collection, _chunk_id(swarm_id, chunk), {"items": self.converter.unstructure(part, kind)})
        self._written[(collection, swarm_id)] = len(items)

    async def _get_chunks(self, collection: str, swarm_id: str, count: int, kind: Any) -> tuple[Any, ...]:
        found: list[Any] = []
        for chunk in range((count + EVENT_CHUNK - 1) // EVENT_CHUNK):
            part = await self._get(collection, f"{collection} chunk of swarm", _chunk_id(swarm_id, chunk))
            try:
                found.extend(self.converter.structure(part["items"], kind))
            except (cattrs.BaseValidationError, ValueError, KeyError) as exc:
                raise StorageError(f"stored {collection} of swarm {swarm_id!r} are unreadable: {exc}") from exc
        self._written[(collection, swarm_id)] = count
        return tuple(found[:count])

    async def get_swarm(self, swarm_id: str, *, events: bool = True) -> Swarm:
        """``NotFoundError`` when there is no swarm ``swarm_id``. ``events=False``: without its events
        (cheaper; ``swarm.events`` is then empty)."""
        return await self._swarm(swarm_id, await self._get(SWARMS, "swarm", swarm_id), events)

    async def list_swarms(self, team_id: str | None = None, *, events: bool = False) -> list[Swarm]:
        """Every swarm (of ``team_id``), without their events unless ``events``."""
        found = [await self._swarm(doc_id, doc, events) for doc_id, doc in await self.storage.list_docs(SWARMS)]
        return [s for s in found if team_id is None or s.team_id == team_id]

    async def delete_swarm(self, swarm_id: str) -> None:
        try:
            doc = await self.storage.get_doc(SWARMS, swarm_id)
        except NotFoundError:
            return
        for collection, key in ((EVENTS, "event_count"), (BOARD, "write_count")):
            for chunk in range((int(doc.get(key, 0)) + EVENT_CHUNK - 1) // EVENT_CHUNK):
                await self.storage.delete_doc(collection, _chunk_id(swarm_id, chunk))
            self._written.pop((collection, swarm_id), None)
        for collection in (SWARMS, STOPS, MOVERS):
            await self.storage.delete_doc(collection, swarm_id)

    # -- stops and movers -------------------------------------------------------------------------

    async def request_stop(self, swarm_id: str, reason: str, at: float) -> None:
        await self.storage.put_doc(STOPS, swarm_id, {"reason": reason, "at": at})

    async def stop_requested(self, swarm_id: str) -> str | None:
        """The reason of a stop asked for ``swarm_id``, if one was."""
        try:
            return str((await self.storage.get_doc(STOPS, swarm_id))["reason"])
        except NotFoundError:
            return None

    async def set_mover(self, swarm_id: str, owner: str, until: float) -> None:
        await self.storage.put_doc(MOVERS, swarm_id, {"owner": owner, "until": until})

    async def mover(self, swarm_id: str, now: float) -> str | None:
        """The runner moving ``swarm_id`` now (its heartbeat has not run out), if any."""
        try:
            doc = await self.storage.get_doc(MOVERS, swarm_id)
        except NotFoundError:
            return None
        return str(doc["owner"]) if float(doc["until"]) > now else None

    async def drop_mover(self, swarm_id: str) -> None:
        await self.storage.delete_doc(MOVERS, swarm_id)

    async def _swarm(self, swarm_id: str, doc: Any, events: bool) -> Swarm:
        doc = dict(doc)
        event_count, write_count = doc.pop("event_count", None), doc.pop("write_count", None)
        swarm = self._structure(doc, Swarm, swarm_id)
        if write_count is not None:
            writes = await self._get_chunks(BOARD, swarm_id, int(write_count), tuple[Entry, ...])
            swarm = attrs.evolve(swarm, blackboard=Blackboard(writes))
        if event_count is not None and events:
            swarm = attrs.evolve(swarm, events=await self._get_chunks(EVENTS, swarm_id, int(event_count), tuple[SwarmEvent, ...]))
        return swarm

    async def _get(self, collection: str, what: str, doc_id: str) -> Any:
        try:
            return await self.storage.get_doc(collection, doc_id)
        except NotFoundError:
            raise NotFoundError(f"no {what} {doc_id!r}") from None

    def _structure(self, doc: Any, cls: type[_T], doc_id: str) -> _T:
        try:
            value: _T = self.converter.structure(dict(doc), cls)
        except (cattrs.BaseValidationError, ValueError) as exc:
            detail = "; ".join(cattrs.transform_error(exc)) if isinstance(exc, cattrs.BaseValidationError) else exc
            raise StorageError(f"stored {cls.__name__.lower()} {doc_id!r} is unreadable: {detail}") from exc
        return value


def _chunk_id(swarm_id: str, chunk: int) -> str:
    return f"{swarm_id}#{chunk:06d}"
