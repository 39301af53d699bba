"""The CSPs of the inventory, kept so that a CSP client can be linked to one by its id (docs/auth.md)."""
from __future__ import annotations

from intake.domain.commands import RecordCsp
from intake.service.unit_of_work import IntakeUnitOfWork


async def record_csp(cmd: RecordCsp, uow: IntakeUnitOfWork) -> None:
    await uow.csps.add(cmd.csp_id, cmd.name, cmd.registered_at)
