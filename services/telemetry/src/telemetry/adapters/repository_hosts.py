"""The CSPs' host mappings: the exporter's `Hostname` of a host → the server it is known as here; a CSP by its id."""
from __future__ import annotations

from collections.abc import Collection
from uuid import UUID

from sqlalchemy import Text, any_, bindparam, delete, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from telemetry.adapters.orm import csp_host
from telemetry.domain.model import HostMapping


class HostRepository:
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def servers(self, csp_id: UUID, hostnames: Collection[str]) -> dict[str, str]:
        """hostname → server name, for those of the hostnames the CSP mapped."""
        if not hostnames:
            return {}
        stmt = select(csp_host.c.hostname, csp_host.c.server_name).where(
            csp_host.c.csp == str(csp_id),
            csp_host.c.hostname == any_(bindparam("hostnames", sorted(hostnames), type_=ARRAY(Text))))
        return {hostname: server for hostname, server in await self._session.execute(stmt)}

    async def put(self, mapping: HostMapping) -> None:
        stmt = insert(csp_host).values(csp=str(mapping.csp_id), hostname=mapping.hostname,
                                       server_name=mapping.server_name)
        await self._session.execute(stmt.on_conflict_do_update(
            index_elements=[csp_host.c.csp, csp_host.c.hostname], set_={"server_name": mapping.server_name}))

    async def remove(self, csp_id: UUID, hostname: str) -> bool:
        stmt = (delete(csp_host).where(csp_host.c.csp == str(csp_id), csp_host.c.hostname == hostname)
                .returning(csp_host.c.hostname))
        return (await self._session.execute(stmt)).first() is not None

    async def of_csp(self, csp_id: UUID) -> list[HostMapping]:
        """The CSP's mappings, by hostname."""
        stmt = (select(csp_host.c.hostname, csp_host.c.server_name).where(csp_host.c.csp == str(csp_id))
                .order_by(csp_host.c.hostname))
        return [HostMapping(csp_id, hostname, server) for hostname, server in await self._session.execute(stmt)]
