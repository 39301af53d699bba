"""The views' tables in and out of the database: profiles, allocations, rounds, the reclaim ladder, the alerts.

Every write is order-free and idempotent: a profile or an allocation merges what each event tells (a field told
replaces, a field not told stays), a ladder step is one row per event, an alert keeps the latest per allocation and
CSP. The reads fetch rows; the arithmetic of the views is the domain's (dashboard.domain.views).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Table, and_, func, or_, select
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from dashboard.adapters.orm import (
    allocation,
    allocation_csp,
    application,
    application_profile,
    ladder_step,
    round_result,
    stale_alert,
)
from dashboard.domain.model import Stage
from dashboard.domain.views import (
    CLEARS,
    DROPS,
    AllocationInfo,
    BalanceRow,
    Grant,
    Held,
    LadderStep,
    Profile,
    Reclaim,
    Request,
    RoundResult,
    StaleAlert,
    Waiting,
)


def _merge(table: Table, key: str, rows: Sequence[dict[str, Any]]) -> list[tuple[Any, list[dict[str, Any]]]]:
    """Upserts that fill in or replace the columns given a value and leave the others as they are: the rows of one
    key folded first, in order (a later value replaces an earlier one), then one statement per set of columns told."""
    folded: dict[Any, dict[str, Any]] = {}
    for values in rows:
        told = {k: v for k, v in values.items() if v is not None}
        folded.setdefault(told[key], {}).update(told)
    alike: dict[frozenset[str], list[dict[str, Any]]] = defaultdict(list)
    for told in folded.values():
        alike[frozenset(told)].append(told)
    statements = []
    for columns, group in alike.items():  # each statement compiled once for all its rows
        stmt = insert(table)
        merged = {k: stmt.excluded[k] for k in sorted(columns) if k != key}
        statements.append((stmt.on_conflict_do_update(index_elements=[table.c[key]], set_=merged) if merged
                           else stmt.on_conflict_do_nothing(), group))
    return statements


class ProfileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def merge_many(self, profiles: Sequence[Profile]) -> None:
        rows = []
        for profile in profiles:
            values = {name: getattr(profile, name) for name in application_profile.c.keys()}
            if profile.facts is not None:
                values["facts"] = list(profile.facts)
            rows.append(values)
        for stmt, group in _merge(application_profile, "application_id", rows):
            await self._session.execute(stmt, group)

    async def balance(self, *, program: str | None, call_id: UUID | None) -> list[BalanceRow]:
        """Every application read (its profile, or only its allocations) with the GPUs allocated to it."""
        p = application_profile.c
        granted = (select(allocation.c.application_id, func.max(allocation.c.program).label("program"),
                          func.sum(allocation.c.gpus).label("gpus"))
                   .where(allocation.c.gpus.is_not(None)).group_by(allocation.c.application_id).subquery())
        program_of = func.coalesce(p.program, granted.c.program)
        stmt = (select(program_of, p.call_id, p.institution, p.sector, p.company_size, p.capital, p.track, p.facts,
                       func.coalesce(p.gpus_requested, 0), func.coalesce(granted.c.gpus, 0),
                       p.offered_at.is_not(None), p.submitted_at.is_not(None))
                .select_from(application_profile.join(granted, granted.c.application_id == p.application_id,
                                                      full=True)))
        if program:
            stmt = stmt.where(program_of == program)
        if call_id:
            stmt = stmt.where(p.call_id == call_id)
        return [BalanceRow(program=row[0], call_id=row[1], institution=row[2], sector=row[3], company_size=row[4],
                           capital=row[5], track=row[6], facts=tuple(row[7]) if row[7] is not None else None,
                           gpus_requested=int(row[8]), gpus_allocated=int(row[9]), offered=bool(row[10]),
                           submitted=bool(row[11]))
                for row in await self._session.execute(stmt)]

    async def requests(self, *, program: str | None, first: date, last: date) -> list[Request]:
        """What the applications not withdrawn asked for, over periods that meet [first, last]."""
        p, a = application_profile.c, application.c
        stmt = (select(p.gpu_model, p.gpus_requested, p.period_start, p.period_end)
                .select_from(application_profile.outerjoin(application, a.application_id == p.application_id))
                .where(p.gpu_model.is_not(None), p.gpus_requested.is_not(None), p.period_start <= last,
                       p.period_end >= first, or_(a.stage.is_(None), a.stage != int(Stage.WITHDRAWN))))
        if program:
            stmt = stmt.where(p.program == program)
        return [Request(gpu_model=m, gpus=g, start=s, end=e) for m, g, s, e in await self._session.execute(stmt)]


class WaitlistRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def waiting(self, *, program: str | None) -> list[Waiting]:
        """The applications waitlisted now, each since it was (the funnel's stage and when it moved there)."""
        a = application.c
        stmt = select(a.program, a.gpus, a.updated_at).where(a.stage == int(Stage.WAITLISTED))
        if program:
            stmt = stmt.where(a.program == program)
        return [Waiting(program=p, gpus=g, since=s) for p, g, s in await self._session.execute(stmt)]


class AllocationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def merge_many(self, changes: Sequence[Grant | Reclaim]) -> None:
        """Grants and reclaims, in the order read: what each tells of its allocation, merged."""
        rows: list[dict[str, Any]] = []
        csps: dict[tuple[UUID, str], int] = {}
        for change in changes:
            if isinstance(change, Grant):
                rows.append({"allocation_id": change.allocation_id, "application_id": change.application_id,
                             "program": change.program, "gpu_model": change.gpu_model, "gpus": change.gpus,
                             "starts_at": change.starts_at, "ends_at": change.ends_at})
                for csp, gpus in change.csp_gpus:
                    csps.setdefault((change.allocation_id, csp), gpus)
            else:
                rows.append({"allocation_id": change.allocation_id, "application_id": change.application_id,
                             "reclaimed_at": change.reclaimed_at, "reclaim_reason": change.reason})
        for stmt, group in _merge(allocation, "allocation_id", rows):
            await self._session.execute(stmt, group)
        if csps:
            await self._session.execute(insert(allocation_csp).on_conflict_do_nothing(),
                                        [{"allocation_id": a, "csp": csp, "gpus": gpus}
                                         for (a, csp), gpus in csps.items()])

    async def held(self, *, start: datetime, end: datetime, program: str | None) -> list[Held]:
        """The GPUs each allocation holds on each CSP, over the part of [start, end) it holds them."""
        a, c = allocation.c, allocation_csp.c
        until = func.least(a.ends_at, func.coalesce(a.reclaimed_at, a.ends_at))
        stmt = (select(a.gpu_model, c.csp, c.gpus, a.starts_at, until)
                .select_from(allocation.join(allocation_csp, c.allocation_id == a.allocation_id))
                .where(a.starts_at.is_not(None), a.starts_at < end, until > start))
        if program:
            stmt = stmt.where(a.program == program)
        return [Held(gpu_model=m, csp=csp, gpus=g, start=s, end=u)
                for m, csp, g, s, u in await self._session.execute(stmt)]

    async def info(self, allocation_ids: list[UUID]) -> dict[UUID, AllocationInfo]:
        """Program, model, GPUs, CSPs, end and reclaim of each allocation read."""
        if not allocation_ids:
            return {}
        a = allocation.c
        csps = (select(func.array_agg(allocation_csp.c.csp.distinct()))
                .where(allocation_csp.c.allocation_id == a.allocation_id).scalar_subquery())
        stmt = select(a.allocation_id, a.program, a.gpu_model, a.gpus, csps, a.ends_at,
                      a.reclaimed_at).where(a.allocation_id.in_(allocation_ids))
        return {row[0]: AllocationInfo(program=row[1], gpu_model=row[2], gpus=row[3], csps=tuple(row[4] or ()),
                                       ends_at=row[5], reclaimed_at=row[6])
                for row in await self._session.execute(stmt)}


class RoundRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def put_many(self, results: Sequence[RoundResult]) -> None:
        """Each round's latest result (by when it was selected), whatever the order read."""
        latest: dict[UUID, RoundResult] = {}
        for result in results:
            if result.call_id not in latest or latest[result.call_id].selected_at <= result.selected_at:
                latest[result.call_id] = result
        if not latest:
            return
        stmt = insert(round_result)
        columns = ("program", "selected", "waitlisted", "gpus_awarded", "reserve_gpus", "reserve_gpus_used",
                   "selected_at")
        await self._session.execute(stmt.on_conflict_do_update(
            index_elements=[round_result.c.call_id], set_={k: stmt.excluded[k] for k in columns},
            where=round_result.c.selected_at <= stmt.excluded.selected_at),
            [{"call_id": r.call_id, **{k: getattr(r, k) for k in columns}} for r in latest.values()])

    async def find(self, *, program: str | None, call_id: UUID | None) -> list[RoundResult]:
        """The rounds decided, with an early-career reserve (P2's, or any other that has one), oldest first."""
        r = round_result.c
        stmt = (select(round_result).where(or_(r.program == "P2", r.reserve_gpus > 0))
                .order_by(r.selected_at, r.call_id))
        if program:
            stmt = stmt.where(r.program == program)
        if call_id:
            stmt = stmt.where(r.call_id == call_id)
        return [RoundResult(**row._mapping) for row in await self._session.execute(stmt)]


class LadderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add_many(self, steps: Sequence[LadderStep]) -> None:
        if steps:
            await self._session.execute(insert(ladder_step).on_conflict_do_nothing(),
                                        [{name: getattr(step, name) for name in ladder_step.c.keys()}
                                         for step in steps])

    async def standing(self) -> dict[UUID, list[LadderStep]]:
        """The steps of each allocation with a drop after its latest clearing (the domain judges them)."""
        s = ladder_step.c
        latest_drop = func.max(s.at).filter(s.kind.in_(DROPS))
        latest_clear = func.max(s.at).filter(s.kind.in_(CLEARS))
        standing = (select(s.allocation_id).group_by(s.allocation_id)
                    .having(latest_drop.is_not(None), or_(latest_clear.is_(None), latest_drop > latest_clear)))
        stmt = select(ladder_step).where(s.allocation_id.in_(standing)).order_by(s.allocation_id, s.at)
        found: dict[UUID, list[LadderStep]] = defaultdict(list)
        for row in await self._session.execute(stmt):
            found[row.allocation_id].append(LadderStep(**row._mapping))
        return found


class StaleAlertRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, alert: StaleAlert) -> None:
        if not alert.csps:
            return
        rows = [{"allocation_id": alert.allocation_id, "csp": csp, "application_id": alert.application_id,
                 "reason": alert.reason, "last_sample_at": alert.last_sample_at, "coverage": alert.coverage,
                 "detected_at": alert.detected_at} for csp in alert.csps]
        stmt = insert(stale_alert).values(rows)
        updated = {k: stmt.excluded[k] for k in ("application_id", "reason", "last_sample_at", "coverage",
                                                 "detected_at")}
        await self._session.execute(stmt.on_conflict_do_update(
            index_elements=[stale_alert.c.allocation_id, stale_alert.c.csp], set_=updated,
            where=stale_alert.c.detected_at < stmt.excluded.detected_at))

    async def by_csp(self, *, now: datetime, since: datetime) -> list[dict[str, Any]]:
        """Per CSP, its latest alert, and how many allocations it hosts had one since `since` and are not over at
        `now` (not taken back, their period not run out; one not read yet counts)."""
        s, a = stale_alert.c, allocation.c
        latest = (select(s.csp, s.reason, s.last_sample_at, s.coverage, s.detected_at, s.allocation_id,
                         s.application_id)
                  .ext(distinct_on(s.csp)).order_by(s.csp, s.detected_at.desc(), s.allocation_id))
        running = or_(a.allocation_id.is_(None), and_(a.reclaimed_at.is_(None),
                                                      or_(a.ends_at.is_(None), a.ends_at > now)))
        affected: dict[str, int] = dict((await self._session.execute(
            select(s.csp, func.count(s.allocation_id.distinct()))
            .select_from(stale_alert.outerjoin(allocation, a.allocation_id == s.allocation_id))
            .where(s.detected_at >= since, running).group_by(s.csp))).all())
        rows = [dict(row._mapping) for row in await self._session.execute(latest)]
        for row in rows:
            row["allocations_affected"] = int(affected.get(row["csp"], 0))
        return sorted(rows, key=lambda r: r["detected_at"], reverse=True)
