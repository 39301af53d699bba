"""The inventory's CSPs as intake knows them, from allocation's events: the ids a CSP client's subject may name."""
from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from intake.adapters.orm import credentials

csp = credentials.csp


class CspRepository:
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def add(self, csp_id: UUID, name: str, registered_at: datetime) -> None:
        """Known from now on; a CSP heard of again keeps its id and takes the name it was last announced with."""
        stmt = insert(csp).values(csp_id=csp_id, name=name, registered_at=registered_at)
        await self._session.execute(stmt.on_conflict_do_update(index_elements=[csp.c.csp_id], set_={"name": name}))
