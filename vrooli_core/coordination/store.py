"""Teams and swarms kept in a storage backend's documents (collections ``teams`` and ``swarms``)."""

from __future__ import annotations

from typing import Any, TypeVar

import attrs
import cattrs

from vrooli_core.coordination.model import Swarm, Team
from vrooli_core.errors import NotFoundError, StorageError
from vrooli_core.serialization import make_converter
from vrooli_core.storage.base import StorageBackend

__all__ = ["SWARMS", "TEAMS", "CoordinationStore"]

TEAMS = "teams"
SWARMS = "swarms"
_T = TypeVar("_T", Team, Swarm)


@attrs.define
class CoordinationStore:
    """Reads and writes teams and swarms through ``storage`` (opened by its owner, e.g. an
    :class:`~vrooli_core.Engine`). ``put_*`` replaces the document of the same id."""

    storage: StorageBackend
    converter: cattrs.Converter = attrs.field(factory=make_converter)

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
        await self.storage.put_doc(SWARMS, swarm.id, self.converter.unstructure(swarm, Swarm))

    async def get_swarm(self, swarm_id: str) -> Swarm:
        """``NotFoundError`` when there is no swarm ``swarm_id``."""
        return self._structure(await self._get(SWARMS, "swarm", swarm_id), Swarm, swarm_id)

    async def list_swarms(self, team_id: str | None = None) -> list[Swarm]:
        """Every swarm (of ``team_id``)."""
        swarms = [self._structure(doc, Swarm, doc_id) for doc_id, doc in await self.storage.list_docs(SWARMS)]
        return [s for s in swarms if team_id is None or s.team_id == team_id]

    async def delete_swarm(self, swarm_id: str) -> None:
        await self.storage.delete_doc(SWARMS, swarm_id)

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
