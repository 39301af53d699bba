"""The three programs' application forms and the rules a form must meet before it is stored.

Each broken rule names its field by its path in the form (`researcher.appointment_date`) and says why.
"""
from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import MAXYEAR, MINYEAR, date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from intake.domain import registration
from intake.domain.errors import Problem
from intake.domain.types import ProgramCode

MONTHS_PER_YEAR = 12
WHOLE_BP = 10_000  # a project share in basis points: 10000 is the whole project
PARTICIPANTS = "corporate_participants"
# the programs are Korea's: "today", "in the future" and "in the past" are days of Korea's calendar, whatever zone the
# instant was stored in (between 00:00 and 09:00 in Korea the UTC date is still yesterday's)
PROGRAM_ZONE = ZoneInfo("Asia/Seoul")


def program_day(at: datetime) -> date:
    """The day `at` falls on in the programs' calendar (Korea's)."""
    return at.astimezone(PROGRAM_ZONE).date()


def program_time(at: datetime) -> str:
    """`at` as a partner in Korea reads it: "2026-12-01 00:00 KST" (what the status history and webhooks say)."""
    return at.astimezone(PROGRAM_ZONE).strftime("%Y-%m-%d %H:%M KST")


@dataclass(frozen=True)
class Limits:
    """The numbers the forms are checked against; the settings provide them."""

    server_gpus: int = 8
    p1_max_gpus: int = 16
    p1_max_servers: int = 2
    max_years_ahead: int = 10

    @property
    def p1_most_gpus(self) -> int:
        return min(self.p1_max_gpus, self.p1_max_servers * self.server_gpus)

    def horizon(self, today: date) -> date:
        """The last day a planned date may fall on: `max_years_ahead` years from today."""
        return add_months(today, MONTHS_PER_YEAR * self.max_years_ahead)


@dataclass(frozen=True)
class Applicant:
    name: str
    sector: str
    institution: str
    region: str


@dataclass(frozen=True)
class Company:
    """P1: a small company or an early-stage startup."""

    business_registration_number: str
    size: str
    head_office_region: str
    representative_birth_date: date


@dataclass(frozen=True)
class Researcher:
    """P2: the lead researcher; their institution and region are the applicant's."""

    institution_type: str
    appointment_date: date
    birth_date: date


@dataclass(frozen=True)
class CorporateParticipant:
    """P2: a company taking part; billing charges it its share of the market price by its size."""

    name: str
    size: str
    business_registration_number: str | None = None  # the payer billing invoices
    project_share_bp: int | None = None  # its part of the project, 1..10000; none on any: split equally


@dataclass(frozen=True)
class Form:
    """What a partner sends for one application; its program decides which optional parts it must carry."""

    program: ProgramCode
    applicant: Applicant
    gpu_model: str
    period_start: date
    period_end: date
    planned_gpu_hours_per_month: int
    purpose: str
    call_id: UUID | None = None
    gpus_requested: int | None = None
    servers_requested: int | None = None
    company: Company | None = None
    researcher: Researcher | None = None
    corporate_participants: tuple[CorporateParticipant, ...] = ()
    open_source: bool = False
    training_data_scale: str | None = None
    earliest_start: date | None = None
    acceptable_window_months: int | None = None

    def gpus(self, limits: Limits) -> int:
        """The GPUs asked for; servers count as whole servers of `limits.server_gpus` GPUs."""
        if self.servers_requested is not None:
            return self.servers_requested * limits.server_gpus
        return self.gpus_requested or 0


Rule = Callable[[Form, date, Limits], Problem | None]


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or that month's last day when it is shorter (31 Jan + 1 → 28 Feb); past the
    calendar's end, its first or last day."""
    index = day.month - 1 + months
    year, month = day.year + index // MONTHS_PER_YEAR, index % MONTHS_PER_YEAR + 1
    if year > MAXYEAR:
        return date.max
    if year < MINYEAR:
        return date.min
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _not_future(path: str, day: date, today: date) -> Problem | None:
    return (path, f"{day} is in the future") if day > today else None


def _within_horizon(path: str) -> Rule:
    """A plan years beyond the programs' horizon is a typo (a year 9999), not a plan."""

    def rule(f: Form, today: date, limits: Limits) -> Problem | None:
        day, horizon = getattr(f, path), limits.horizon(today)
        if day is not None and day > horizon:
            return (path, f"{day} is more than {limits.max_years_ahead} years ahead (after {horizon})")
        return None

    return rule


def _period_order(f: Form, _: date, __: Limits) -> Problem | None:
    return ("period_end", "must be after period_start") if f.period_end <= f.period_start else None


def _p1_gpus(f: Form, _: date, limits: Limits) -> Problem | None:
    most = limits.p1_most_gpus
    if f.gpus_requested is None or not 1 <= f.gpus_requested <= most:
        return ("gpus_requested", f"P1 grants 1 to {most} GPUs (at most {limits.p1_max_servers} servers of "
                                  f"{limits.server_gpus}); {f.gpus_requested} were requested")
    return None


def _p1_company(f: Form, today: date, _: Limits) -> Problem | None:
    if f.company is None:
        return ("company", "is required for P1")
    return _not_future("company.representative_birth_date", f.company.representative_birth_date, today)


def _registration_number(path: str, number: str | None) -> Problem | None:
    if number is None or registration.is_valid(number):
        return None
    return (path, f"{number} has a wrong check digit (its last digit): it is not a business registration number")


def _p1_registration_number(f: Form, _: date, __: Limits) -> Problem | None:
    return _registration_number("company.business_registration_number",
                                f.company.business_registration_number if f.company else None)


def _p2_whole_servers(f: Form, _: date, limits: Limits) -> Problem | None:
    if f.gpus_requested is not None:
        return ("gpus_requested", f"P2 gives whole servers of {limits.server_gpus} GPUs: ask with "
                                  "servers_requested, not single GPUs")
    return ("servers_requested", "is required for P2") if f.servers_requested is None else None


def _p2_researcher(f: Form, _: date, __: Limits) -> Problem | None:
    return ("researcher", "is required for P2") if f.researcher is None else None


def _p2_birth_date(f: Form, today: date, _: Limits) -> Problem | None:
    return _not_future("researcher.birth_date", f.researcher.birth_date, today) if f.researcher else None


def _p2_appointment(f: Form, today: date, _: Limits) -> Problem | None:
    r = f.researcher
    if r is None:
        return None
    if r.appointment_date <= r.birth_date:
        return ("researcher.appointment_date", f"{r.appointment_date} is not after the birth date {r.birth_date}")
    return _not_future("researcher.appointment_date", r.appointment_date, today)


def _p2_shares_on_all_or_none(f: Form, _: date, __: Limits) -> Problem | None:
    """Billing splits the project by the shares given, or equally when no participant gives one: not a mix."""
    given = [i for i, p in enumerate(f.corporate_participants) if p.project_share_bp is not None]
    missing = next((i for i, p in enumerate(f.corporate_participants) if p.project_share_bp is None), None)
    if not given or missing is None:
        return None
    return (f"{PARTICIPANTS}.{missing}.project_share_bp",
            f"is missing while {PARTICIPANTS}.{given[0]} gives one: give a project share for every participant "
            "or for none (none: the project is split equally)")


def _p2_shares_within_the_project(f: Form, _: date, __: Limits) -> Problem | None:
    total = sum(p.project_share_bp or 0 for p in f.corporate_participants)
    if total <= WHOLE_BP:
        return None
    return (PARTICIPANTS, f"the project shares (project_share_bp) sum to {total} basis points; at most {WHOLE_BP}, "
                          "the whole project")


def _p2_registration_numbers(f: Form, _: date, __: Limits) -> Problem | None:
    found = (_registration_number(f"{PARTICIPANTS}.{i}.business_registration_number", p.business_registration_number)
             for i, p in enumerate(f.corporate_participants))
    return next((problem for problem in found if problem is not None), None)


def _p2_one_registration_number_each(f: Form, _: date, __: Limits) -> Problem | None:
    seen: dict[str, int] = {}
    for i, p in enumerate(f.corporate_participants):
        number = p.business_registration_number
        if number is None:
            continue
        if number in seen:
            return (f"{PARTICIPANTS}.{i}.business_registration_number",
                    f"{number} is already {PARTICIPANTS}.{seen[number]}'s: a company takes part once")
        seen[number] = i
    return None


def _p3_gpus_or_servers(f: Form, _: date, __: Limits) -> Problem | None:
    if f.gpus_requested is not None and f.servers_requested is not None:
        return ("servers_requested", "ask with gpus_requested or servers_requested, not both")
    if f.gpus_requested is None and f.servers_requested is None:
        return ("gpus_requested", "ask with gpus_requested or servers_requested")
    return None


def _p3_window(f: Form, _: date, __: Limits) -> Problem | None:
    if f.earliest_start is None:
        return ("earliest_start", "is required for P3")
    if f.acceptable_window_months is None or not 1 <= f.acceptable_window_months <= 4:
        return ("acceptable_window_months", "must be 1 to 4 months")
    return None


def _p3_period_in_window(f: Form, today: date, limits: Limits) -> Problem | None:
    """The window is how long the GPUs are needed; the period is where it may be placed, from earliest_start on."""
    if (f.earliest_start is None or f.acceptable_window_months is None or _p3_window(f, today, limits)
            or f.period_end <= f.period_start):
        return None  # no window to place, or a period out of order (its own rule says so)
    if f.period_start < f.earliest_start:
        return ("period_start", f"{f.period_start} is before earliest_start {f.earliest_start}")
    # period_end is the last day of the period: a window from 1 Dec for 3 months ends with 28 Feb
    last_day = add_months(f.period_start, f.acceptable_window_months) - timedelta(days=1)
    if f.period_end < last_day:
        return ("period_end", f"{f.period_end} leaves no room for the {f.acceptable_window_months}-month window "
                              f"from {f.period_start} (its last day would be {last_day})")
    return None


RULES: dict[ProgramCode, tuple[Rule, ...]] = {
    "P1": (_p1_gpus, _p1_company, _p1_registration_number),
    "P2": (_p2_whole_servers, _p2_researcher, _p2_birth_date, _p2_appointment, _p2_shares_on_all_or_none,
           _p2_shares_within_the_project, _p2_registration_numbers, _p2_one_registration_number_each),
    "P3": (_p3_gpus_or_servers, _p3_window, _p3_period_in_window),
}
COMMON: tuple[Rule, ...] = (*map(_within_horizon, ("period_start", "period_end", "earliest_start")), _period_order)


def form_problems(form: Form, today: date, limits: Limits) -> list[Problem]:
    """Every rule the form breaks, in a stable order: common rules first, then its program's."""
    if form.program not in RULES:
        return [("program", f"{form.program} is not a program")]
    found = (rule(form, today, limits) for rule in (*COMMON, *RULES[form.program]))
    return [problem for problem in found if problem is not None]
