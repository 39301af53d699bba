"""Intake's domain metrics, read at scrape time from its own schema (docs/observability.md)."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from intake.adapters.orm import application
from intake.domain.model import Status
from servicekit.metrics import Reading


async def applications_by_status(conn: AsyncConnection) -> list[Reading]:
    """`platform_intake_applications{status}`: applications by their current status, every status named."""
    rows = await conn.execute(select(application.c.status, func.count()).group_by(application.c.status))
    counts = {str(status): int(n) for status, n in rows}
    return [Reading("intake_applications", "Applications by their current status", counts.get(s, 0), {"status": s})
            for s in sorted({*map(str, Status), *counts})]
