"""The application as evaluation sees it, and its evaluation's life: arrival, review, the round's close, re-check.

arrival: ineligible → rejected; P3 → scored at once (eligible); P1/P2 → awaiting_reviewers, then in_review once a
panel is assigned; the call's close makes the score final (eligible) or rejects it for want of reviews. A withdrawal,
at any point (even before the submission arrives), makes it withdrawn for good.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from evaluation.domain.policy import Policy

INSUFFICIENT_REVIEWS = "insufficient_reviews"
NO_EVALUATION = "no_evaluation"  # a re-check asked for an application evaluation never received

# the programs, the same literal as the contracts' `Program` (the domain imports no contract)
ProgramCode = Literal["P1", "P2", "P3"]
# the programs are Korea's: a submission's day, an age and a career's length are counted on Korea's calendar, whatever
# zone the instant was stored in (between 00:00 and 09:00 in Korea the UTC date is still yesterday's)
PROGRAM_ZONE = ZoneInfo("Asia/Seoul")


def program_day(at: datetime) -> date:
    """The day `at` falls on in the programs' calendar (Korea's)."""
    return at.astimezone(PROGRAM_ZONE).date()


class Status(StrEnum):
    AWAITING_REVIEWERS = "awaiting_reviewers"
    IN_REVIEW = "in_review"
    ELIGIBLE = "eligible"  # eligible and scored: the score is final
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"  # the applicant withdrew: nothing more is reviewed, decided or published for it

    @property
    def settled(self) -> bool:
        """Nothing more will be decided for it: scored, rejected or withdrawn. A round waits for none of these."""
        return self in (Status.ELIGIBLE, Status.REJECTED, Status.WITHDRAWN)


@dataclass(frozen=True)
class Applicant:
    sector: str
    institution: str
    region: str
    name: str = ""


@dataclass(frozen=True)
class Company:
    business_registration_number: str
    size: str
    head_office_region: str
    representative_birth_date: date


@dataclass(frozen=True)
class Researcher:
    institution_type: str
    appointment_date: date
    birth_date: date


@dataclass(frozen=True)
class CorporateParticipant:
    name: str
    size: str


@dataclass(frozen=True)
class Submission:
    """The application as intake submitted it; `submitted_at` is the time of the submission event."""

    application_id: UUID
    program: ProgramCode
    call_id: UUID | None
    applicant: Applicant
    gpus_requested: int
    gpu_model: str
    period_start: date
    period_end: date
    planned_gpu_hours_per_month: int
    submitted_at: datetime
    purpose: str = ""
    company: Company | None = None
    researcher: Researcher | None = None
    servers_requested: int | None = None
    corporate_participants: tuple[CorporateParticipant, ...] = ()
    open_source: bool = False
    training_data_scale: str | None = None
    earliest_start: date | None = None
    acceptable_window_months: int | None = None

    @property
    def submitted_on(self) -> date:
        """The submission day on the programs' calendar (Korea's); the instant itself is stored in UTC."""
        return program_day(self.submitted_at)


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
    """One part of the score: its points and how they were reached. The components add up to the score."""

    name: str
    points: float
    detail: str


@dataclass(frozen=True)
class CriterionScore:
    """One rubric criterion: the reviewers' mean, its weight, and the weighted points (rounded for display)."""

    name: str
    weight: float
    mean: float
    reviews: int
    weighted_points: float
    exact_mean: float | None = None  # the mean unrounded (what the rubric sums); None in evaluations stored before it


@dataclass(frozen=True)
class Review:
    reviewer_id: UUID
    scores: dict[str, float]


@dataclass(frozen=True)
class Recheck:
    """Eligibility re-run at award time, or before an offer of freed capacity (`offer_id`), under the version then
    in force, with the facts as they are now."""

    at: datetime
    policy_version: str
    changes: dict[str, Any]
    checks: list[Check]
    offer_id: UUID | None = None

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


@dataclass(frozen=True)
class Withdrawal:
    """The applicant withdrew the application at `at` (the withdrawal's event time), before or after it arrived."""

    application_id: UUID
    at: datetime
    reason: str = ""


@dataclass
class Round:
    """A closed P1/P2 call: its applications are scored under the version in force at its close."""

    call_id: UUID
    program: ProgramCode
    opens_at: datetime
    closes_at: datetime
    application_ids: tuple[UUID, ...]
    policy_version: str
    closed_at: datetime
    scored_at: datetime | None = None


@dataclass
class Evaluation:
    """The outcome for one application. `checks`, `components` and `criteria` are its full explanation."""

    submission: Submission
    status: Status
    score: float | None
    policy_version: str  # the version of the latest decision (the score's, once scored)
    evaluated_at: datetime
    checks: list[Check] = field(default_factory=list)
    components: list[Component] = field(default_factory=list)
    eligibility_policy_version: str = ""
    criteria: list[CriterionScore] = field(default_factory=list)
    reviews_received: int = 0
    reviews_required: int = 0  # P1/P2: the policy's minimum, which makes the score final
    facts: dict[str, bool] = field(default_factory=dict)
    failed_rules: list[str] = field(default_factory=list)
    rechecks: list[Recheck] = field(default_factory=list)

    @property
    def application_id(self) -> UUID:
        return self.submission.application_id

    @property
    def score_final(self) -> bool:
        """Scored P3 at once; P1/P2 once the minimum of reviews is in (the round's close publishes it)."""
        return self.score is not None and (self.status is Status.ELIGIBLE
                                           or self.reviews_received >= self.reviews_required)

    @property
    def decided(self) -> bool:
        """Scored, rejected or withdrawn: the round's close decides nothing more for it."""
        return self.status.settled

    def withdraw(self) -> bool:
        """The applicant withdrew: the evaluation ends here, its score and rules kept as they were (what was
        published stays published). False when it was withdrawn already."""
        if self.status is Status.WITHDRAWN:
            return False
        self.status = Status.WITHDRAWN
        return True

    def reject(self, failed_rules: list[str], policy: Policy, at: datetime) -> None:
        self.status, self.score, self.failed_rules = Status.REJECTED, None, failed_rules
        self.policy_version, self.evaluated_at = policy.version, at

    def start_review(self) -> None:
        self.status = Status.IN_REVIEW

    def change_facts(self, *, company_size: str | None = None, sector: str | None = None) -> dict[str, Any]:
        """Apply facts that changed since the submission; returns what changed (for the re-check's record)."""
        changes: dict[str, Any] = {}
        s = self.submission
        if company_size is not None and s.company is not None and company_size != s.company.size:
            s = replace(s, company=replace(s.company, size=company_size))
            changes["company_size"] = company_size
        if sector is not None and sector != s.applicant.sector:
            s = replace(s, applicant=replace(s.applicant, sector=sector))
            changes["sector"] = sector
        self.submission = s
        return changes
