"""Evaluation's domain metrics, read at scrape time from its own schema (docs/observability.md)."""
from __future__ import annotations

from typing import get_args

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from evaluation.adapters.orm import evaluation
from evaluation.domain.model import ProgramCode, Status
from servicekit.metrics import Reading

PROGRAMS: tuple[str, ...] = get_args(ProgramCode)


async def applications_by_status(conn: AsyncConnection) -> list[Reading]:
    """`platform_evaluation_applications{program, status}`: evaluations by program and current status (scored,
    `eligible`; `rejected`; in review; awaiting reviewers; `withdrawn`), every program and status named."""
    rows = await conn.execute(select(evaluation.c.program, evaluation.c.status, func.count())
                              .group_by(evaluation.c.program, evaluation.c.status))
    counts = {(str(program), str(status)): int(n) for program, status, n in rows}
    programs = sorted({*PROGRAMS, *(p for p, _ in counts)})
    statuses = sorted({*map(str, Status), *(s for _, s in counts)})
    return [Reading("evaluation_applications", "Applications evaluated, by program and current status",
                    counts.get((p, s), 0), {"program": p, "status": s}) for p in programs for s in statuses]
