"""Applications in and out of the database."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake.adapters.orm import application, application_status
from intake.domain.model import Applicant, Application, Status

APPLICANT_PREFIX = "applicant_"


def _row(app: Application) -> dict[str, Any]:
    return {
        "id": app.id, "partner_id": app.partner_id, "program": app.program, "call_id": app.call_id,
        **{APPLICANT_PREFIX + k: v for k, v in vars(app.applicant).items()},
        "gpus_requested": app.gpus_requested, "gpu_model": app.gpu_model,
        "period_start": app.period_start, "period_end": app.period_end,
        "planned_gpu_hours_per_month": app.planned_gpu_hours_per_month, "purpose": app.purpose,
        "status": app.status.value, "status_reason": app.status_reason,
        "submitted_at": app.submitted_at, "updated_at": app.updated_at,
    }


def _application(row: Any) -> Application:
    data = dict(row._mapping)
    applicant = Applicant(**{k.removeprefix(APPLICANT_PREFIX): data.pop(k)
                             for k in list(data) if k.startswith(APPLICANT_PREFIX)})
    data["status"] = Status(data["status"])
    return Application(applicant=applicant, **data)


class ApplicationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, app: Application) -> None:
        await self._session.execute(application.insert().values(_row(app)))
        await self._record_history(app)

    async def get(self, application_id: UUID, *, for_update: bool = False) -> Application | None:
        stmt = select(application).where(application.c.id == application_id)
        row = (await self._session.execute(stmt.with_for_update() if for_update else stmt)).first()
        return _application(row) if row else None

    async def save(self, app: Application) -> None:
        values = _row(app)
        await self._session.execute(application.update().where(application.c.id == app.id)
                                    .values(status=values["status"], status_reason=values["status_reason"],
                                            updated_at=values["updated_at"]))
        await self._record_history(app)

    async def list(self, *, partner_id: UUID | None = None, program: str | None = None,
                   status: str | None = None, limit: int = 50) -> list[Application]:
        stmt = select(application).order_by(application.c.submitted_at.desc()).limit(limit)
        for column, value in (("partner_id", partner_id), ("program", program), ("status", status)):
            if value is not None:
                stmt = stmt.where(application.c[column] == value)
        return [_application(r) for r in (await self._session.execute(stmt)).all()]

    async def history(self, application_id: UUID) -> list[dict[str, Any]]:
        stmt = (select(application_status.c.status, application_status.c.reason, application_status.c.at)
                .where(application_status.c.application_id == application_id)
                .order_by(application_status.c.seq))
        return [dict(r._mapping) for r in (await self._session.execute(stmt)).all()]

    async def _record_history(self, app: Application) -> None:
        if not app.history:
            return
        start = await self._session.scalar(
            select(func.count()).where(application_status.c.application_id == app.id)) or 0
        at = app.updated_at or app.submitted_at
        await self._session.execute(application_status.insert(), [
            {"application_id": app.id, "seq": start + i, "status": s.value, "reason": r, "at": at}
            for i, (s, r) in enumerate(app.history)])
        app.history.clear()
