"""A scoring policy version: every number the rules and the score use, in force from a time on.

Versions are only ever added, so any decision can be explained by the version it names.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

MAX_CRITERION_SCORE = 100
CRITERIA = ("technical_social_impact", "ai_ecosystem_contribution", "capability_readiness")
WEIGHT_PRECISION = 10_000  # weights are read to 1/10,000, so three float thirds add up to exactly 1
META_FIELDS = ("version", "effective_from")


@dataclass(frozen=True)
class Policy:
    """The rules of one version; `rules()` is what the policy_version table keeps as JSON."""

    version: str
    effective_from: datetime
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
    def from_rules(cls, version: str, effective_from: datetime, rules: Mapping[str, Any]) -> Policy:
        return cls(version=version, effective_from=effective_from, **rules)

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


def policy_problems(policy: Policy) -> list[tuple[str, str]]:
    """Each field that makes the policy unusable, with the reason; empty when it is sound."""
    problems = _weight_problems(policy.rubric_weights)
    if policy.reviewers_per_application < 1:
        problems.append(("reviewers_per_application", "at least one reviewer per application"))
    if not 1 <= policy.min_reviews <= policy.reviewers_per_application:
        problems.append(("min_reviews", f"must be between 1 and reviewers_per_application "
                                        f"({policy.reviewers_per_application}); it is {policy.min_reviews}"))
    if policy.p3_min_window_months > policy.p3_max_window_months:
        problems.append(("p3_min_window_months", "must not exceed p3_max_window_months"))
    if not policy.p1_company_sizes:
        problems.append(("p1_company_sizes", "at least one company size is eligible"))
    return problems


def _weight_problems(weights: Mapping[str, float]) -> list[tuple[str, str]]:
    names = set(weights)
    if names != set(CRITERIA):
        return [("rubric_weights", f"one weight for each criterion {', '.join(CRITERIA)}; "
                                   f"got {', '.join(sorted(names)) or 'none'}")]
    if any(not 0 <= w <= 1 for w in weights.values()):
        return [("rubric_weights", "each weight is between 0 and 1")]
    total = sum(weight_fraction(w) for w in weights.values())
    if total != 1:
        return [("rubric_weights", f"the weights must sum to 1; they sum to {float(total):g}")]
    return []


def review_problems(scores: Mapping[str, float]) -> list[tuple[str, str]]:
    """A review scores exactly the rubric's criteria, each from 0 to 100."""
    problems = [(f"scores.{name}", "missing") for name in CRITERIA if name not in scores]
    problems += [(f"scores.{name}", "not a criterion of the rubric") for name in scores if name not in CRITERIA]
    problems += [(f"scores.{name}", f"must be between 0 and {MAX_CRITERION_SCORE}; it is {value:g}")
                 for name, value in scores.items() if name in CRITERIA and not 0 <= value <= MAX_CRITERION_SCORE]
    return problems


def in_force(policies: Sequence[Policy], at: datetime) -> Policy:
    """The version with the latest start at or before `at`; before the first version, the first applies."""
    ordered = sorted(policies, key=lambda p: p.effective_from)
    started = [p for p in ordered if p.effective_from <= at]
    return started[-1] if started else ordered[0]
