"""How far each policy rule may move, and the invariants a version must keep, alone and with the rest of the platform.

Bounds hold for each rule on its own; invariants tie rules to each other, to the rubric, and to the numbers intake and
allocation hold in their own settings, which no policy version can change. docs/evaluation.md tables them.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from evaluation.domain.policy import CRITERIA, MAX_CRITERION_SCORE, Policy, weight_fraction

MAX_BONUS_POINTS = 10  # a program's bonuses together: a tie-breaker on the 100-point rubric, never a substitute
COMPANY_SIZES = ("startup", "small", "mid", "large")


@dataclass(frozen=True)
class Bound:
    low: int
    high: int
    unit: str
    meaning: str

    def describe(self) -> str:
        return f"{self.meaning}. {self.low} to {self.high} {self.unit}."


BOUNDS: dict[str, Bound] = {
    "p1_regional_bonus_points": Bound(0, 10, "points", "P1: bonus for a head office outside the capital region"),
    "p1_youth_bonus_points": Bound(0, 10, "points", "P1: bonus for a youth company"),
    "p2_non_capital_bonus_points": Bound(0, 10, "points", "P2: bonus for a researcher outside the capital region"),
    "youth_max_age_years": Bound(19, 49, "years", "Oldest age of a youth company's representative"),
    "early_career_max_years_since_appointment": Bound(1, 15, "years",
                                                      "P2 early-career track: most years since appointment"),
    "early_career_max_age_years": Bound(19, 49, "years", "P2 early-career track: oldest age"),
    "reviewers_per_application": Bound(1, 10, "reviewers", "P1/P2: reviewers assigned to each application"),
    "min_reviews": Bound(1, 10, "reviews", "P1/P2: reviews that make a score final"),
    "p1_max_gpus": Bound(1, 16, "GPUs", "P1: most GPUs one applicant may request (the seed: 1 to 16)"),
    "p1_max_servers": Bound(1, 4, "servers", "P1: most servers one request may span"),
    "server_gpus": Bound(1, 16, "GPUs", "GPUs per server; P2 gives whole servers"),
    "p3_max_period_months": Bound(1, 24, "months", "P3: longest period"),
    "p3_min_window_months": Bound(1, 12, "months", "P3: shortest idle window one may ask for"),
    "p3_max_window_months": Bound(1, 12, "months", "P3: longest idle window one may ask for"),
    "eligibility_base_points": Bound(0, 100, "points", "P3: readiness points for passing eligibility"),
}


@dataclass(frozen=True)
class Platform:
    """Numbers intake and allocation hold too (INTAKE_FORMS__*, ALLOCATION_INVENTORY__SERVER_GPUS,
    ALLOCATION_SELECTION__*): a policy agreeing with evaluation alone would split the platform."""

    server_gpus: int = 8
    p1_max_gpus: int = 16
    p1_max_servers: int = 2


def policy_problems(policy: Policy, platform: Platform | None = None) -> list[tuple[str, str]]:
    """Each field that makes the policy unusable, with the reason; empty when it is sound."""
    problems = _weight_problems(policy.rubric_weights) + _bound_problems(policy) + _list_problems(policy)
    problems += _cross_field_problems(policy)
    if platform is not None:
        problems += platform_problems(policy, platform)
    return problems


def _bound_problems(policy: Policy) -> list[tuple[str, str]]:
    return [(name, f"must be between {b.low} and {b.high} {b.unit}; it is {getattr(policy, name):g}")
            for name, b in BOUNDS.items() if not b.low <= getattr(policy, name) <= b.high]


def _list_problems(policy: Policy) -> list[tuple[str, str]]:
    problems = []
    if not policy.capital_region or len(set(policy.capital_region)) != len(policy.capital_region):
        problems.append(("capital_region", "at least one region, each once"))
    sizes = policy.p1_company_sizes
    if not sizes or len(set(sizes)) != len(sizes) or not set(sizes) <= set(COMPANY_SIZES):
        problems.append(("p1_company_sizes", f"at least one of {', '.join(COMPANY_SIZES)}, each once"))
    return problems


def _cross_field_problems(p: Policy) -> list[tuple[str, str]]:
    checks = [
        (p.min_reviews <= p.reviewers_per_application, "min_reviews",
         f"must not exceed reviewers_per_application ({p.reviewers_per_application}); it is {p.min_reviews}"),
        (p.p3_min_window_months <= p.p3_max_window_months, "p3_min_window_months",
         f"must not exceed p3_max_window_months ({p.p3_max_window_months})"),
        (p.p3_max_window_months <= p.p3_max_period_months, "p3_max_window_months",
         f"must not exceed p3_max_period_months ({p.p3_max_period_months}): a window lies within a period"),
        (p.p1_max_gpus <= p.p1_max_servers * p.server_gpus, "p1_max_gpus",
         f"must fit on p1_max_servers ({p.p1_max_servers}) servers of server_gpus ({p.server_gpus}) GPUs"),
        (p.p1_regional_bonus_points + p.p1_youth_bonus_points <= MAX_BONUS_POINTS, "p1_youth_bonus_points",
         f"P1's bonuses together must not exceed {MAX_BONUS_POINTS} of the rubric's {MAX_CRITERION_SCORE} points"),
    ]
    return [(field, reason) for ok, field, reason in checks if not ok]


def platform_problems(p: Policy, platform: Platform) -> list[tuple[str, str]]:
    """The rules intake and allocation also apply: a version may not leave them behind."""
    checks = [
        (p.server_gpus == platform.server_gpus, "server_gpus",
         f"must equal the platform's {platform.server_gpus} GPUs per server, which intake "
         "(INTAKE_FORMS__SERVER_GPUS) and allocation (ALLOCATION_INVENTORY__SERVER_GPUS) also use"),
        (p.p1_max_gpus <= platform.p1_max_gpus, "p1_max_gpus",
         f"must not exceed the platform's {platform.p1_max_gpus}: intake (INTAKE_FORMS__P1_MAX_GPUS) and "
         "allocation (ALLOCATION_SELECTION__P1_MAX_GPUS) refuse more"),
        (p.p1_max_servers <= platform.p1_max_servers, "p1_max_servers",
         f"must not exceed the platform's {platform.p1_max_servers}: allocation places P1 on at most that many "
         "servers (ALLOCATION_SELECTION__P1_MAX_SERVERS, INTAKE_FORMS__P1_MAX_SERVERS)"),
    ]
    return [(field, reason) for ok, field, reason in checks if not ok]


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


def schedule_problems(policy: Policy, latest: Policy, now: datetime,
                      min_notice: timedelta) -> list[tuple[str, str]]:
    """A new version starts at a stated time, at least `min_notice` ahead, and after every version before it, so
    the versions form one line in time and the rules carried over are those of its predecessor."""
    earliest = now + min_notice
    if policy.effective_at < earliest:
        return [("effective_at", f"{policy.effective_at.isoformat()} is too soon: a version takes effect at least "
                                 f"{_duration(min_notice)} after it is created (not before {earliest.isoformat()})")]
    if policy.effective_at <= latest.effective_at:
        return [("effective_at", f"must be after {latest.effective_at.isoformat()}, the start of the latest "
                                 f"version {latest.version} (cancel that one first to go before it)")]
    return []


def _duration(notice: timedelta) -> str:
    seconds = int(notice.total_seconds())
    return f"{seconds // 60} minute(s)" if seconds % 60 == 0 and seconds else f"{seconds} second(s)"


@dataclass(frozen=True)
class ChangeRules:
    """What every new version is checked against: the platform's numbers, and how far ahead it must start."""

    platform: Platform = Platform()
    min_notice: timedelta = timedelta(minutes=5)
