"""An application's evaluation: its program's eligibility rules, then (P3 only, for now) the readiness score.

P1 and P2 applications that pass their rules wait for a review panel, which arrives in a later issue: until then
they are `awaiting_review`, with no score and no event.
"""
from __future__ import annotations

import calendar
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from fractions import Fraction
from uuid import UUID

HOURS_PER_DAY = 24
LONGEST_MONTH_DAYS = 31
AVERAGE_MONTH_HOURS = 730  # 8,760 hours a year over 12 months: what one GPU offers in a typical month
MAX_SCORE = 100
RESEARCH_SECTORS = ("academia", "research_institute")
SCORED_AT_ONCE = frozenset({"P3"})  # P3's rolling intake has no panel: an eligible plan is scored at once


class Status(StrEnum):
    ELIGIBLE = "eligible"
    REJECTED = "rejected"
    AWAITING_REVIEW = "awaiting_review"


@dataclass(frozen=True)
class Policy:
    """The numbers of one scoring policy version (the settings provide them)."""

    version: str = "2026.1"
    p1_max_gpus: int = 16
    server_gpus: int = 8
    p3_max_period_months: int = 12
    eligibility_base_points: float = 40.0


@dataclass(frozen=True)
class Applicant:
    sector: str
    institution: str
    region: str


@dataclass(frozen=True)
class Submission:
    """The application as intake submitted it; `submitted_at` is the time of the submission event."""

    application_id: UUID
    program: str
    call_id: UUID | None
    applicant: Applicant
    gpus_requested: int
    gpu_model: str
    period_start: date
    period_end: date
    planned_gpu_hours_per_month: int
    submitted_at: datetime


@dataclass(frozen=True)
class Check:
    """One eligibility rule applied to one submission: what the rule demands, or why it failed."""

    rule: str
    passed: bool
    message: str

    def describe(self) -> str:
        return f"{self.rule}: {self.message}"


@dataclass(frozen=True)
class Component:
    """One part of the score: its points and how they were reached."""

    name: str
    points: float
    detail: str


Violation = Callable[[Submission, Policy], str | None]


@dataclass(frozen=True)
class Rule:
    """A named eligibility rule: `requirement` (formatted with the policy) says what it demands."""

    name: str
    requirement: str
    violation: Violation

    def check(self, submission: Submission, policy: Policy) -> Check:
        problem = self.violation(submission, policy)
        return Check(self.name, problem is None, problem or self.requirement.format(**vars(policy)))


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or that month's last day when it is shorter (31 Jan + 1 → 28 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _p1_industry_sector(s: Submission, _: Policy) -> str | None:
    if s.applicant.sector != "industry":
        return f"P1 is for industry applicants; the applicant's sector is {s.applicant.sector}"
    return None


def _p1_gpu_range(s: Submission, p: Policy) -> str | None:
    if not 1 <= s.gpus_requested <= p.p1_max_gpus:
        return f"P1 grants 1 to {p.p1_max_gpus} GPUs; {s.gpus_requested} were requested"
    return None


def _p2_research_sector(s: Submission, _: Policy) -> str | None:
    if s.applicant.sector not in RESEARCH_SECTORS:
        return f"P2 is for academia and research institutes; the applicant's sector is {s.applicant.sector}"
    return None


def _p2_whole_servers(s: Submission, p: Policy) -> str | None:
    if s.gpus_requested % p.server_gpus:
        return (f"P2 gives whole servers of {p.server_gpus} GPUs; {s.gpus_requested} GPUs is not a multiple "
                f"of {p.server_gpus}")
    return None


def _p3_period_length(s: Submission, p: Policy) -> str | None:
    latest = add_months(s.period_start, p.p3_max_period_months)
    if s.period_end > latest:
        return (f"P3 periods last at most {p.p3_max_period_months} months (to {latest} at the latest); "
                f"this one ends on {s.period_end}")
    return None


def _p3_period_not_ended(s: Submission, _: Policy) -> str | None:
    submitted_on = s.submitted_at.astimezone(UTC).date()
    if s.period_end < submitted_on:
        return f"the period ended on {s.period_end}, before the submission on {submitted_on}"
    return None


def _period_order(s: Submission, _: Policy) -> str | None:
    if s.period_end <= s.period_start:
        return f"period_end {s.period_end} is not after period_start {s.period_start}"
    return None


def _plan_within_capacity(s: Submission, _: Policy) -> str | None:
    capacity = s.gpus_requested * HOURS_PER_DAY * LONGEST_MONTH_DAYS
    if s.planned_gpu_hours_per_month > capacity:
        return (f"{s.planned_gpu_hours_per_month} planned GPU-hours per month exceed the {capacity} that "
                f"{s.gpus_requested} GPUs can deliver ({HOURS_PER_DAY} h x {LONGEST_MONTH_DAYS} days each)")
    return None


PROGRAM_RULES: dict[str, tuple[Rule, ...]] = {
    "P1": (Rule("p1_industry_sector", "P1 is for industry applicants", _p1_industry_sector),
           Rule("p1_gpu_range", "P1 grants 1 to {p1_max_gpus} GPUs", _p1_gpu_range)),
    "P2": (Rule("p2_research_sector", "P2 is for academia and research institutes", _p2_research_sector),
           Rule("p2_whole_servers", "P2 gives whole servers of {server_gpus} GPUs", _p2_whole_servers)),
    "P3": (Rule("p3_period_length", "P3 periods last at most {p3_max_period_months} months", _p3_period_length),
           Rule("p3_period_not_ended", "the period has not ended before the submission", _p3_period_not_ended)),
}
COMMON_RULES: tuple[Rule, ...] = (
    Rule("period_order", "period_end is after period_start", _period_order),
    Rule("plan_within_capacity", "the planned GPU-hours per month fit what the GPUs can deliver",
         _plan_within_capacity),
)


def check_eligibility(submission: Submission, policy: Policy) -> list[Check]:
    """Every rule of the submission's program and every common rule, passed or not, in a stable order."""
    return [rule.check(submission, policy) for rule in (*PROGRAM_RULES[submission.program], *COMMON_RULES)]


def _to_cents(points: Fraction) -> Fraction:
    """Round half up to 2 decimals, exactly (no binary floating point on the way)."""
    return Fraction(math.floor(points * 100 + Fraction(1, 2)), 100)


def readiness_components(submission: Submission, policy: Policy) -> list[Component]:
    """The base for passing eligibility plus the rest of 100 points in proportion to the plan's ratio."""
    base = _to_cents(Fraction(str(policy.eligibility_base_points)))
    weight = MAX_SCORE - base
    offered_hours = submission.gpus_requested * AVERAGE_MONTH_HOURS
    plan_ratio = min(Fraction(submission.planned_gpu_hours_per_month, offered_hours), Fraction(1))
    plan_points = _to_cents(weight * plan_ratio)
    return [
        Component("eligibility_base", float(base), f"passed every {submission.program} eligibility rule"),
        Component("plan_readiness", float(plan_points),
                  f"{float(weight):g} x plan ratio {float(plan_ratio):.4f} = min(1, "
                  f"{submission.planned_gpu_hours_per_month} planned GPU-hours per month / "
                  f"({submission.gpus_requested} GPUs x {AVERAGE_MONTH_HOURS} h))"),
    ]


@dataclass
class Evaluation:
    """The outcome for one application; `checks` and `components` are its full explanation."""

    submission: Submission
    status: Status
    score: float | None
    policy_version: str
    evaluated_at: datetime
    checks: list[Check] = field(default_factory=list)
    components: list[Component] = field(default_factory=list)

    @property
    def application_id(self) -> UUID:
        return self.submission.application_id

    @property
    def failed_rules(self) -> list[str]:
        return [c.describe() for c in self.checks if not c.passed]


def evaluate(submission: Submission, policy: Policy, at: datetime) -> Evaluation:
    """Check eligibility; score an eligible P3 plan at once; leave an eligible P1/P2 for its review panel."""
    checks = check_eligibility(submission, policy)
    result = Evaluation(submission, Status.AWAITING_REVIEW, None, policy.version, at, checks)
    if any(not c.passed for c in checks):
        result.status = Status.REJECTED
    elif submission.program in SCORED_AT_ONCE:
        result.components = readiness_components(submission, policy)
        result.status = Status.ELIGIBLE
        result.score = round(sum(c.points for c in result.components), 2)
    return result
