"""A scoring policy version: every number the rules and the score use, in force from a stated time on.

Versions are only ever added (a scheduled one may be cancelled before its time), so any decision can be explained
by the version it names. Bounds and invariants are in policy_bounds.py.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from fractions import Fraction
from typing import Any

MAX_CRITERION_SCORE = 100
CRITERIA = ("technical_social_impact", "ai_ecosystem_contribution", "capability_readiness")
WEIGHT_PRECISION = 10_000  # weights are read to 1/10,000, so three float thirds add up to exactly 1
META_FIELDS = ("version", "effective_at")


@dataclass(frozen=True)
class Policy:
    """The rules of one version; `rules()` is what the policy_version table keeps as JSON."""

    version: str
    effective_at: datetime
    rubric_weights: Mapping[str, float]
    p1_regional_bonus_points: float
    p1_youth_bonus_points: float
    p2_non_capital_bonus_points: float
    capital_region: Sequence[str]
    youth_max_age_years: int
    early_career_max_years_since_appointment: int
    early_career_max_age_years: int
    reviewers_per_application: int
    min_reviews: int
    p1_company_sizes: Sequence[str]
    p1_max_gpus: int
    p1_max_servers: int
    server_gpus: int
    p3_max_period_months: int
    p3_min_window_months: int
    p3_max_window_months: int
    eligibility_base_points: float

    def rules(self) -> dict[str, Any]:
        """Every field but the version and its start, as JSON values."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)
                if f.name not in META_FIELDS}

    @classmethod
    def from_rules(cls, version: str, effective_at: datetime, rules: Mapping[str, Any]) -> Policy:
        return cls(version=version, effective_at=effective_at, **rules)

    def weight(self, criterion: str) -> Fraction:
        return weight_fraction(self.rubric_weights[criterion])


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple | list):
        return list(value)
    return value


def rule_names() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(Policy) if f.name not in META_FIELDS)


def weight_fraction(weight: float) -> Fraction:
    return Fraction(weight).limit_denominator(WEIGHT_PRECISION)


def review_problems(scores: Mapping[str, float]) -> list[tuple[str, str]]:
    """A review scores exactly the rubric's criteria, each from 0 to 100."""
    problems = [(f"scores.{name}", "missing") for name in CRITERIA if name not in scores]
    problems += [(f"scores.{name}", "not a criterion of the rubric") for name in scores if name not in CRITERIA]
    problems += [(f"scores.{name}", f"must be between 0 and {MAX_CRITERION_SCORE}; it is {value:g}")
                 for name, value in scores.items() if name in CRITERIA and not 0 <= value <= MAX_CRITERION_SCORE]
    return problems


def in_force(policies: Sequence[Policy], at: datetime) -> Policy:
    """The version with the latest start at or before `at`; before the first version, the first applies.

    `policies` are the versions not cancelled: a cancelled version never governs anything.
    """
    ordered = sorted(policies, key=lambda p: p.effective_at)
    started = [p for p in ordered if p.effective_at <= at]
    return started[-1] if started else ordered[0]


@dataclass(frozen=True)
class Change:
    """Who changed the policies and when: the access token's subject (its client) and role, at the clock's time."""

    at: datetime
    by: str
    role: str


class State(StrEnum):
    SCHEDULED = "scheduled"
    IN_FORCE = "in_force"
    SUPERSEDED = "superseded"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class PolicyVersion:
    """A stored version with its audit: who created it, and who cancelled it before its time, if anyone did."""

    policy: Policy
    created: Change
    cancelled: Change | None = None

    def state(self, now: datetime, in_force_now: str) -> State:
        """By `now`, when `in_force_now` names the version in force then."""
        if self.cancelled is not None:
            return State.CANCELLED
        if self.policy.effective_at > now:
            return State.SCHEDULED
        return State.IN_FORCE if self.policy.version == in_force_now else State.SUPERSEDED
