"""The views' answers (balance, demand, occupancy, reclaim ladder, CSP alerts) and the bounded queries they take.

Plain JSON for a page's fetch(): counts are integers, shares fractions of 1 (0 where the whole is 0), GPU figures
rounded, times ISO 8601 in UTC, dates `YYYY-MM-DD`, months `YYYY-MM`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from dashboard.domain.views import Step, Tally, range_problems
from servicekit.bounds import Day

Program = Literal["P1", "P2", "P3"]
ProgramQuery = Annotated[Program | None, Query(description="Only this program.")]
MAX_DEMAND_MONTHS = 36
MAX_LADDER = 1000
MAX_ALERT_HOURS = 24 * 90


# --- balance -----------------------------------------------------------------------------------------------------

class ShareOut(BaseModel):
    key: str = Field(description="The group: a region class, an institution (`others`: the rest), a sector, a "
                                 "company size; `unknown` where the events did not tell.")
    applications: int
    gpus_requested: int
    gpus_allocated: int
    share_applications: float = Field(description="Of all the applications counted, 0..1.")
    share_gpus_requested: float
    share_gpus_allocated: float

    @classmethod
    def of(cls, tally: Tally, whole: Tally) -> ShareOut:
        apps, requested, allocated = tally.shares(whole)
        return cls(key=tally.key, applications=tally.applications, gpus_requested=tally.gpus_requested,
                   gpus_allocated=tally.gpus_allocated, share_applications=apps, share_gpus_requested=requested,
                   share_gpus_allocated=allocated)


class TotalsOut(BaseModel):
    applications: int
    gpus_requested: int
    gpus_allocated: int


class ReserveOut(BaseModel):
    call_id: UUID
    program: str
    selected_at: datetime
    gpus_awarded: int
    reserve_gpus: int = Field(description="GPUs reserved for the early-career track first.")
    reserve_gpus_used: int = Field(description="Of those, GPUs the track took.")
    spilled_over: int = Field(description="reserve_gpus - reserve_gpus_used: reserved GPUs that went to the others.")
    early_career_gpus: int | None = Field(description="All the GPUs the round allocated to early-career "
                                                      "applications; null until every grant of the round is read "
                                                      "with its track.")
    won_in_general: int | None = Field(description="early_career_gpus beyond the reserve: won in the open "
                                                   "competition; null when not derivable yet.")


class FactOut(BaseModel):
    fact: str = Field(description="youth_company, regional_company (P1); early_career, non_capital_region (P2).")
    program: str
    scored: int = Field(description="Applications of the program whose facts are known (scored).")
    applications: int = Field(description="Of those, with the fact.")
    gpus_requested: int
    allocated: int = Field(description="Applications with the fact that were allocated GPUs (P1/P2: selected).")
    gpus_allocated: int
    share_applications: float = Field(description="applications / scored.")
    share_allocated: float = Field(description="allocated / every application of the program allocated.")
    share_gpus_allocated: float = Field(description="gpus_allocated / every GPU allocated in the program.")


class BalanceOut(BaseModel):
    program: str | None
    call_id: UUID | None
    totals: TotalsOut
    by_region: list[ShareOut] = Field(description="capital (Seoul, Incheon, Gyeonggi), non_capital, unknown; P1 by "
                                                  "the company's head office.")
    by_institution: list[ShareOut] = Field(description="The 10 largest by GPUs allocated (then requested, then "
                                                       "applications), the rest as `others`.")
    by_sector: list[ShareOut]
    by_company_size: list[ShareOut] = Field(description="P1's company size (small, startup); `none` without a "
                                                        "company (P2, P3).")
    early_career_reserve: list[ReserveOut] = Field(description="Each P2 round decided (and any other with a "
                                                               "reserve), oldest first.")
    facts: list[FactOut] = Field(description="Youth and regional companies (P1), early-career and non-capital "
                                             "researchers (P2), as evaluation found them.")


# --- demand ------------------------------------------------------------------------------------------------------

class DemandSeriesOut(BaseModel):
    gpu_model: str
    gpu_months: list[float] = Field(description="One a month, in `months`' order.")
    total: float


class WaitlistOut(BaseModel):
    program: str | None = Field(description="null: every program.")
    applications: int
    gpus: int = Field(description="GPUs they asked for.")
    oldest_since: datetime | None = Field(description="When the longest waiting was waitlisted.")
    oldest_days: float | None = Field(description="How long it has waited, in days, as of `as_of`.")
    median_days: float | None


class WaitlistsOut(BaseModel):
    total: WaitlistOut
    programs: list[WaitlistOut]


class DemandOut(BaseModel):
    program: str | None
    as_of: datetime
    months: list[str] = Field(description="`YYYY-MM`, from this month on.")
    series: list[DemandSeriesOut] = Field(description="GPU-months asked for per GPU model.")
    totals: list[float] = Field(description="Every model's, one a month.")
    waitlist: WaitlistsOut


# --- occupancy ---------------------------------------------------------------------------------------------------

class OccupancySeriesOut(BaseModel):
    gpu_model: str
    csp: str
    gpus: list[float] = Field(description="GPUs allocated on average over each bucket, in `buckets`' order.")


class OccupancyOut(BaseModel):
    start: date
    end: date
    step: str
    program: str | None
    buckets: list[date] = Field(description="Each bucket's first day (weeks from Monday, months from the 1st, "
                                            "UTC); a bucket runs to the next one's first day.")
    series: list[OccupancySeriesOut]
    totals: list[float] = Field(description="Every model and CSP's, one a bucket.")


@dataclass(frozen=True)
class OccupancyRange:
    start: date
    end: date
    step: Step


def occupancy_range(start: Annotated[Day, Query(description="First day (UTC).")],
                    end: Annotated[Day, Query(description="Day after the last (UTC); at most 731 days after "
                                                          "start.")],
                    step: Annotated[Step, Query(description="Bucket: week (from Monday) or month.")] = "week",
                    ) -> OccupancyRange:
    """The range, or a 422 naming the field at fault (end before start, over two years, too many buckets)."""
    problems = range_problems(start, end, step)
    if problems:
        raise RequestValidationError([{"loc": ("query", field), "msg": reason, "type": "value_error"}
                                      for field, reason in problems])
    return OccupancyRange(start, end, step)


# --- the reclaim ladder and the CSPs -----------------------------------------------------------------------------

class LadderOut(BaseModel):
    allocation_id: UUID
    application_id: UUID
    program: str | None = Field(description="null: the allocation's grant not read yet.")
    gpu_model: str | None
    gpus: int | None
    csps: list[str]
    level: str = Field(description="warning, or reclaim once a reclaim was called for.")
    rule: str | None = Field(description="The latest drop's rule: mean_below_plan or gpu_hours_below_plan.")
    utilization_pct: float | None
    threshold_pct: float | None
    actual_gpu_hours: float | None
    planned_gpu_hours: float | None
    required_gpu_hours: float | None
    since: datetime = Field(description="Its first drop since the ladder was last cleared.")
    last_at: datetime = Field(description="Its latest drop.")
    warnings: int = Field(description="Warnings since.")
    ends_at: datetime | None


class LaddersOut(BaseModel):
    as_of: datetime
    items: list[LadderOut] = Field(description="Reclaims first, then the longest on the ladder.")


class CspAlertOut(BaseModel):
    csp: str
    reason: str = Field(description="The latest alert's: silent (no sample for a while) or low_coverage.")
    last_sample_at: datetime | None
    coverage: float | None
    detected_at: datetime
    allocation_id: UUID = Field(description="The allocation of the latest alert.")
    application_id: UUID
    allocations_affected: int = Field(description="Allocations it hosts with an alert in the last `hours`, not "
                                                  "taken back and not over.")


class CspAlertsOut(BaseModel):
    as_of: datetime
    hours: int
    items: list[CspAlertOut] = Field(description="One per CSP ever alerted, the latest alert first.")


DemandMonths = Annotated[int, Query(ge=1, le=MAX_DEMAND_MONTHS, description="Calendar months from this one.")]
LadderLimit = Annotated[int, Query(ge=1, le=MAX_LADDER)]
AlertHours = Annotated[int, Query(ge=1, le=MAX_ALERT_HOURS,
                                  description="The window `allocations_affected` counts alerts over.")]
