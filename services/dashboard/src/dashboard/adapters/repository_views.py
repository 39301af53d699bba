"""The views' tables in and out of the database: profiles, allocations, rounds, the reclaim ladder, the alerts.

Every write is order-free and idempotent: a profile or an allocation merges what each event tells (a field told
replaces, a field not told stays), a ladder step is one row per event, an alert keeps the latest per allocation and
CSP. The reads count in the database and hand over groups, a few per program, call, model or CSP, however many
applications there are (docs/dashboard.md); the arithmetic left on the groups is the domain's
(dashboard.domain.views).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Numeric,
    Select,
    Table,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeEngine

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
    EARLY_CAREER,
    MICROSECOND,
    BalanceGroups,
    Change,
    Counted,
    FactGroup,
    Grant,
    LadderStep,
    OnLadder,
    Profile,
    ProfileGroup,
    Reclaim,
    RoundGroup,
    RoundResult,
    StaleAlert,
    Waitlisted,
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


async def _changes(session: AsyncConnection, spans: Select[Any], bounds: Sequence[int], *, keys: int,
                   moments: TypeEngine[Any] | None = None) -> list[Change]:
    """Spans (their first `keys` columns the key, then `start` and `stop` in the bounds' unit, from the first bound,
    and `gpus`) as the changes they make: +gpus where they start, -gpus where they stop, summed per key and place
    among the bounds (width_bucket: how many bounds are at or before it). One pass over the spans (GROUPING SETS: by
    where they start, by where they stop), a handful of groups a key; the moments summed as `moments` (Numeric where
    a bigint could overflow)."""
    s = spans.subquery("spans").c
    key = list(s)[:keys]
    thresholds = literal(list(bounds), ARRAY(BigInteger))
    start, stop = func.width_bucket(s.start, thresholds), func.width_bucket(s.stop, thresholds)
    gpus = cast(s.gpus, moments if moments is not None else BigInteger())
    stmt = (select(*key, func.grouping(start).label("at_stop"), start.label("start"), stop.label("stop"),
                   func.sum(s.gpus).label("amount"), func.sum(gpus * s.start).label("start_moment"),
                   func.sum(gpus * s.stop).label("stop_moment"))
            .group_by(func.grouping_sets(tuple_(*key, start), tuple_(*key, stop))))
    return [Change(key=tuple(row[:keys]), after=int(row.stop), amount=-int(row.amount), moment=-int(row.stop_moment))
            if row.at_stop else
            Change(key=tuple(row[:keys]), after=int(row.start), amount=int(row.amount), moment=int(row.start_moment))
            for row in await session.execute(stmt)]


# the balance's four ways of counting, each by its columns; GROUPING(the first column of each) tells a group's way: a
# bit set for each argument not grouped by
_BALANCE_WAYS: dict[str, tuple[str, ...]] = {
    "profile": ("capital", "sector", "company_size", "submitted"), "institution": ("institution",),
    "facts": ("program", "facts"), "round": ("call_id", "placed", "early_career")}
_WAY_OF = {(1 << len(_BALANCE_WAYS)) - 1 - (1 << (len(_BALANCE_WAYS) - 1 - i)): way
           for i, way in enumerate(_BALANCE_WAYS)}
_MIDDLE = UUID("80000000-0000-0000-0000-000000000000")  # random (v4) ids: half of them below


def _balance_half(*, program: str | None, call_id: UUID | None, upper: bool) -> Select[Any]:
    """The balance's groups of the applications of one half: their ids from 8000... on (`upper`), or below."""
    profile, a = application_profile, allocation.c

    def in_half(application_id: ColumnElement[UUID]) -> ColumnElement[bool]:
        return application_id >= _MIDDLE if upper else application_id < _MIDDLE

    granted = (select(a.application_id, func.max(a.program).label("program"), func.sum(a.gpus).label("gpus"))
               .where(a.gpus.is_not(None), in_half(a.application_id)).group_by(a.application_id)
               .subquery("granted"))
    profiles = select(profile).where(in_half(profile.c.application_id)).subquery("profile")
    p, g = profiles.c, granted.c
    program_of, allocated = func.coalesce(p.program, g.program), func.coalesce(g.gpus, 0)
    rows = (select(program_of.label("program"), p.call_id, p.capital, p.institution, p.sector, p.company_size,
                   p.submitted_at.is_not(None).label("submitted"), p.facts,
                   and_(allocated != 0, p.offered_at.is_(None), p.track.is_not(None)).label("placed"),
                   p.track.is_not_distinct_from(EARLY_CAREER).label("early_career"),
                   func.coalesce(p.gpus_requested, 0).label("requested"), allocated.label("allocated"))
            .select_from(profiles.join(granted, g.application_id == p.application_id, full=True)))
    if program:
        rows = rows.where(program_of == program)
    if call_id:
        rows = rows.where(p.call_id == call_id)
    c = rows.subquery("counted").c
    ways = [[c[name] for name in names] for names in _BALANCE_WAYS.values()]
    return (select(func.grouping(*(columns[0] for columns in ways)).label("way"),
                   *(column for columns in ways for column in columns),
                   func.count().label("applications"), func.sum(c.requested).label("requested"),
                   func.sum(c.allocated).label("allocated"),
                   func.count().filter(c.allocated != 0).label("allocated_count"))
            .group_by(func.grouping_sets(*(tuple_(*columns) for columns in ways))))


class ProfileRepository:
    def __init__(self, session: AsyncConnection) -> None:
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

    async def balance(self, *, program: str | None, call_id: UUID | None) -> BalanceGroups:
        """Every application read (its profile, or only its allocations) with the GPUs allocated to it, counted in
        one pass four ways (GROUPING SETS): by region, sector and company size as read; by institution as read; by
        program and facts; by call and whether its round placed them. Groups, a few per value, never a row per
        application: what is named and merged (`unknown`, `others`) is the domain's.

        The applications are counted in two halves by id (each application, its profile and its allocations, in one
        half), which the database counts at once, one per core (Parallel Append); the halves' groups are summed
        here."""
        halves = [_balance_half(program=program, call_id=call_id, upper=upper) for upper in (False, True)]
        summed: dict[tuple[str, tuple[Any, ...]], Counted] = {}
        for row in await self._session.execute(union_all(*halves)):
            way = _WAY_OF[row.way]
            key = tuple(tuple(v) if isinstance(v, list) else v for v in (row._mapping[c] for c in _BALANCE_WAYS[way]))
            counted = Counted(applications=int(row.applications), gpus_requested=int(row.requested),
                              gpus_allocated=int(row.allocated), allocated=int(row.allocated_count))
            summed[way, key] = summed[way, key].plus(counted) if (way, key) in summed else counted
        found = BalanceGroups(profiles=[], institutions=[], facts=[], rounds=[])
        for (way, key), counted in summed.items():
            if way == "profile":
                capital, sector, company_size, submitted = key
                found.profiles.append(ProfileGroup(capital=capital, sector=sector, company_size=company_size,
                                                   submitted=bool(submitted), counted=counted))
            elif way == "institution":
                found.institutions.append((key[0], counted))
            elif way == "facts":
                found.facts.append(FactGroup(program=key[0], facts=key[1], counted=counted))
            else:
                found.rounds.append(RoundGroup(call_id=key[0], placed=bool(key[1]), early_career=bool(key[2]),
                                               counted=counted))
        return found

    async def asked(self, *, program: str | None, bounds: Sequence[date]) -> list[Change]:
        """What the applications not withdrawn ask for within [bounds[0], bounds[-1]): each one's GPUs from its first
        day to the day after its last, as the two changes it makes (views.Change: days from bounds[0]), summed per
        GPU model and place among the bounds. A pass over the applications, however many months."""
        p, a = application_profile.c, application.c
        first, end = bounds[0], bounds[-1]
        start, stop = func.greatest(p.period_start, first), func.least(p.period_end + 1, end)
        withdrawn = (select(a.application_id)
                     .where(a.application_id == p.application_id, a.stage == int(Stage.WITHDRAWN)).exists())
        spans = (select(p.gpu_model, cast(start - first, BigInteger).label("start"),
                        cast(stop - first, BigInteger).label("stop"),
                        case((start < stop, p.gpus_requested), else_=0).label("gpus"))
                 .where(p.gpu_model.is_not(None), p.gpus_requested.is_not(None), p.period_start < end,
                        p.period_end >= first, ~withdrawn))
        if program:
            spans = spans.where(p.program == program)
        return await _changes(self._session, spans, [(day - first).days for day in bounds], keys=1)


class WaitlistRepository:
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def waiting(self, *, program: str | None) -> tuple[Waitlisted, list[Waitlisted]]:
        """The applications waitlisted now (the funnel's stage, since they moved there), all of them and per program:
        how many, their GPUs, the oldest, and the one or two in the middle of the line (percentile_disc from either
        end: the later and the earlier middle, the same one for an odd count)."""
        a = application.c
        stmt = (select(func.grouping(a.program).label("every"), a.program, func.count().label("applications"),
                       func.coalesce(func.sum(a.gpus), 0).label("gpus"), func.min(a.updated_at).label("oldest"),
                       func.percentile_disc(0.5).within_group(a.updated_at.desc()).label("later"),
                       func.percentile_disc(0.5).within_group(a.updated_at).label("earlier"))
                .where(a.stage == int(Stage.WAITLISTED))
                .group_by(func.grouping_sets(tuple_(a.program), tuple_())))
        if program:
            stmt = stmt.where(a.program == program)
        every, programs = Waitlisted(program=None, applications=0, gpus=0, oldest=None, middle=None), []
        for row in await self._session.execute(stmt):
            found = Waitlisted(program=row.program, applications=int(row.applications), gpus=int(row.gpus),
                               oldest=row.oldest,
                               middle=(row.later, row.earlier) if row.applications else None)
            if row.every:
                every = found
            else:
                programs.append(found)
        return every, programs


class AllocationRepository:
    def __init__(self, session: AsyncConnection) -> None:
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

    async def held(self, *, bounds: Sequence[datetime], program: str | None) -> list[Change]:
        """The GPUs each allocation holds on each CSP (its slots) from its start to its end, or its reclaim if sooner,
        within [bounds[0], bounds[-1]), as the two changes it makes (views.Change: microseconds from bounds[0]),
        summed per GPU model and CSP and place among the bounds. A pass over the allocations, however many buckets."""
        a, c = allocation.c, allocation_csp.c
        first, end = bounds[0], bounds[-1]
        until = func.least(a.ends_at, func.coalesce(a.reclaimed_at, a.ends_at))
        start, stop = func.greatest(a.starts_at, first), func.least(until, end)

        def micros(at: ColumnElement[Any]) -> ColumnElement[Any]:  # exact: a float8's 53 bits hold them all
            return cast(func.date_part("epoch", at - first) * 1_000_000, BigInteger)

        spans = (select(a.gpu_model, c.csp, micros(start).label("start"), micros(stop).label("stop"),
                        case((start < stop, c.gpus), else_=0).label("gpus"))
                 .select_from(allocation.join(allocation_csp, c.allocation_id == a.allocation_id))
                 .where(a.starts_at.is_not(None), a.starts_at < end, until > first))
        if program:
            spans = spans.where(a.program == program)
        return await _changes(self._session, spans, [(at - first) // MICROSECOND for at in bounds], keys=2,
                              moments=Numeric())


class RoundRepository:
    def __init__(self, session: AsyncConnection) -> None:
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
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def add_many(self, steps: Sequence[LadderStep]) -> None:
        if steps:
            await self._session.execute(insert(ladder_step).on_conflict_do_nothing(),
                                        [{name: getattr(step, name) for name in ladder_step.c.keys()}
                                         for step in steps])

    async def standing(self, *, now: datetime, program: str | None, limit: int) -> list[OnLadder]:
        """The allocations on the ladder at `now`, judged from their steps in any order: a recovery or a waiver
        clears every drop up to its time (a drop at the same instant included), the drops after the latest clearing
        stand (`since` the first, `warnings` counted, `reclaim` once one called for it, the latest's rule and
        numbers). Not the allocations taken back or past their end (one whose grant is not read yet stays); only
        the program's, if one is given. The reclaims first, then the longest on the ladder, `limit` of them."""
        s, a = ladder_step.c, allocation.c
        over = (select(a.allocation_id).where(a.allocation_id == s.allocation_id,
                                              or_(a.reclaimed_at.is_not(None), a.ends_at <= now)).exists())
        marked = select(ladder_step, func.max(s.at).filter(s.kind.in_(CLEARS)).over(partition_by=s.allocation_id)
                        .label("cleared_at")).where(~over).subquery("marked")
        m = marked.c
        standing = (select(marked, func.bool_or(m.kind == "reclaim").over(partition_by=m.allocation_id).label("called"),
                           func.min(m.at).over(partition_by=m.allocation_id).label("since"),
                           func.count().filter(m.kind == "warning").over(partition_by=m.allocation_id)
                           .label("warnings"),
                           func.row_number().over(partition_by=m.allocation_id,
                                                  order_by=(m.at.desc(), (m.kind == "reclaim").desc(),
                                                            m.event_id.desc())).label("recency"))
                    .where(m.kind.in_(DROPS), or_(m.cleared_at.is_(None), m.at > m.cleared_at))
                    .subquery("standing"))
        t = standing.c
        csps = (select(func.array_agg(allocation_csp.c.csp.distinct()))
                .where(allocation_csp.c.allocation_id == a.allocation_id).scalar_subquery())
        stmt = (select(standing, a.program, a.gpu_model, a.gpus, csps.label("csps"), a.ends_at)
                .select_from(standing.outerjoin(allocation, a.allocation_id == t.allocation_id))
                .where(t.recency == 1).order_by(t.called.desc(), t.since, t.allocation_id).limit(limit))
        if program:
            stmt = stmt.where(a.program == program)
        return [OnLadder(allocation_id=row.allocation_id, application_id=row.application_id,
                         level="reclaim" if row.called else "warning", since=row.since, warnings=int(row.warnings),
                         latest=LadderStep(**{name: getattr(row, name) for name in ladder_step.c.keys()}),
                         program=row.program, gpu_model=row.gpu_model, gpus=row.gpus, csps=tuple(row.csps or ()),
                         ends_at=row.ends_at)
                for row in await self._session.execute(stmt)]


class StaleAlertRepository:
    def __init__(self, session: AsyncConnection) -> None:
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
