"""The operators' views beyond the funnel, as JSON for the page: balance, demand, occupancy, the reclaim ladder and
the CSPs' telemetry alerts (docs/dashboard.md)."""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends

from dashboard.domain import views
from dashboard.entrypoints.deps import Uow
from dashboard.entrypoints.schemas_views import (
    AlertHours,
    BalanceOut,
    CspAlertOut,
    CspAlertsOut,
    DemandMonths,
    DemandOut,
    DemandSeriesOut,
    FactOut,
    LadderLimit,
    LadderOut,
    LaddersOut,
    OccupancyOut,
    OccupancyRange,
    OccupancySeriesOut,
    ProgramQuery,
    ReserveOut,
    ShareOut,
    TotalsOut,
    WaitlistOut,
    WaitlistsOut,
    occupancy_range,
)
from servicekit.auth import AUTH_RESPONSES, OPERATOR_ONLY, authenticated
from servicekit.http import PROBLEM_RESPONSES
from servicekit.runtime import Now

router = APIRouter(prefix="/views", tags=["views"], responses={**PROBLEM_RESPONSES, **AUTH_RESPONSES},
                   dependencies=[Depends(authenticated), OPERATOR_ONLY])


@router.get("/balance", response_model=BalanceOut,
            summary="Shares of applications and GPUs by region, institution, sector and company size; the P2 "
                    "early-career reserve per round; youth and regional companies, early-career researchers")
async def balance(uow: Uow, program: ProgramQuery = None, call_id: UUID | None = None) -> BalanceOut:
    groups = await uow.profiles.balance(program=program, call_id=call_id)
    whole = views.total(g.counted for g in groups.profiles)

    def shares(tallies: list[views.Tally]) -> list[ShareOut]:
        return [ShareOut.of(t, whole) for t in tallies]

    rounds = await uow.rounds.find(program=program, call_id=call_id)
    return BalanceOut(
        program=program, call_id=call_id,
        totals=TotalsOut(applications=whole.applications, gpus_requested=whole.gpus_requested,
                         gpus_allocated=whole.gpus_allocated),
        by_region=shares(views.tally_by((views.region_of(g.capital), g.counted) for g in groups.profiles)),
        by_institution=shares(views.top(views.tally_by(
            (views.institution_of(name), counted) for name, counted in groups.institutions))),
        by_sector=shares(views.tally_by((views.sector_of(g.sector), g.counted) for g in groups.profiles)),
        by_company_size=shares(views.tally_by(
            (views.company_size_of(g.company_size, submitted=g.submitted), g.counted) for g in groups.profiles)),
        early_career_reserve=[_reserve(views.reserve_use(r, groups.rounds)) for r in rounds],
        facts=[_fact(f) for f in views.fact_tallies(groups.facts) if not program or f.program == program])


def _reserve(use: views.ReserveUse) -> ReserveOut:
    r = use.round
    return ReserveOut(call_id=r.call_id, program=r.program, selected_at=r.selected_at, gpus_awarded=r.gpus_awarded,
                      reserve_gpus=r.reserve_gpus, reserve_gpus_used=r.reserve_gpus_used,
                      spilled_over=r.spilled_over, early_career_gpus=use.early_career_gpus,
                      won_in_general=use.won_in_general)


def _fact(f: views.FactTally) -> FactOut:
    return FactOut(fact=f.fact, program=f.program, scored=f.scored, applications=f.applications,
                   gpus_requested=f.gpus_requested, allocated=f.allocated, gpus_allocated=f.gpus_allocated,
                   share_applications=views.share(f.applications, f.scored),
                   share_allocated=views.share(f.allocated, f.program_allocated),
                   share_gpus_allocated=views.share(f.gpus_allocated, f.program_gpus_allocated))


@router.get("/demand", response_model=DemandOut,
            summary="GPU-months asked for per GPU model and calendar month, and the waitlist's depth and age")
async def demand(uow: Uow, now: Now, program: ProgramQuery = None, months: DemandMonths = 12) -> DemandOut:
    at = now()
    firsts = views.months_from(at.date(), months)
    asked = views.demand(await uow.profiles.asked(program=program, bounds=views.month_bounds(firsts)), firsts)
    every, programs = await uow.waitlist.waiting(program=program)
    total, per_program = views.waitlist(every, programs, at)
    return DemandOut(
        program=program, as_of=at, months=[m.strftime("%Y-%m") for m in firsts],
        series=[DemandSeriesOut(gpu_model=model, gpu_months=v, total=round(sum(v), 2))
                for (model, *_), v in asked.by_key.items()],
        totals=asked.totals,
        waitlist=WaitlistsOut(total=_waitlist(total), programs=[_waitlist(p) for p in per_program]))


def _waitlist(d: views.WaitlistDepth) -> WaitlistOut:
    return WaitlistOut(program=d.program, applications=d.applications, gpus=d.gpus, oldest_since=d.oldest_since,
                       oldest_days=d.oldest_days, median_days=d.median_days)


@router.get("/occupancy", response_model=OccupancyOut,
            summary="GPUs allocated per GPU model and CSP, on average over each week or month (reclaims end an "
                    "allocation early); supply is not here")
async def occupancy(uow: Uow, span: Annotated[OccupancyRange, Depends(occupancy_range)],
                    program: ProgramQuery = None) -> OccupancyOut:
    starts = views.buckets(span.start, span.end, span.step)
    held = await uow.allocations.held(bounds=views.bucket_bounds(starts, span.step), program=program)
    allocated = views.occupancy(held, starts, span.step)
    return OccupancyOut(
        start=span.start, end=span.end, step=span.step, program=program, buckets=starts,
        series=[OccupancySeriesOut(gpu_model=model, csp=csp, gpus=v) for (model, csp), v in allocated.by_key.items()],
        totals=allocated.totals)


@router.get("/ladder", response_model=LaddersOut,
            summary="Allocations on the reclaim ladder now: warned or called for reclaim, not cleared since "
                    "(recovered, waived), not taken back and not over")
async def ladder(uow: Uow, now: Now, program: ProgramQuery = None, limit: LadderLimit = 500) -> LaddersOut:
    at = now()
    standing = await uow.ladder.standing(now=at, program=program, limit=limit)
    return LaddersOut(as_of=at, items=[_ladder(entry) for entry in standing])


def _ladder(entry: views.OnLadder) -> LadderOut:
    s = entry.latest
    return LadderOut(
        allocation_id=entry.allocation_id, application_id=entry.application_id, program=entry.program,
        gpu_model=entry.gpu_model, gpus=entry.gpus, csps=list(entry.csps), level=entry.level, rule=s.rule,
        utilization_pct=s.utilization_pct, threshold_pct=s.threshold_pct, actual_gpu_hours=s.actual_gpu_hours,
        planned_gpu_hours=s.planned_gpu_hours, required_gpu_hours=s.required_gpu_hours, since=entry.since,
        last_at=s.at, warnings=entry.warnings, ends_at=entry.ends_at)


@router.get("/csps", response_model=CspAlertsOut,
            summary="Per CSP, its latest telemetry alert (an allocation's samples missing) and how many "
                    "allocations it hosts had one lately")
async def csps(uow: Uow, now: Now, hours: AlertHours = 24) -> CspAlertsOut:
    at = now()
    rows = await uow.stale_alerts.by_csp(now=at, since=at - timedelta(hours=hours))
    return CspAlertsOut(as_of=at, hours=hours, items=[CspAlertOut(**row) for row in rows])
