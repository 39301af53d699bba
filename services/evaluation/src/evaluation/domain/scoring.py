"""Score arithmetic, exact until the final rounding: P3 readiness, and P1/P2 rubric plus bonus points.

final = round(Σ weight x mean criterion score) + bonuses. Nothing caps it: a perfect rubric with two P1 bonuses is
106, and allocation ranks by it as it is.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from evaluation.domain import facts
from evaluation.domain.model import Component, CriterionScore, Review, Submission
from evaluation.domain.policy import CRITERIA, Policy

AVERAGE_MONTH_HOURS = 730  # 8,760 hours a year over 12 months: what one GPU offers in a typical month
MAX_SCORE = 100


@dataclass(frozen=True)
class Scorecard:
    criteria: list[CriterionScore]
    components: list[Component]

    @property
    def total(self) -> float:
        return float(sum(Fraction(str(c.points)) for c in self.components))

    @property
    def bonus_points(self) -> float:
        return float(sum(Fraction(str(c.points)) for c in self.components if c.name.startswith("bonus_")))


def to_cents(points: Fraction) -> Fraction:
    """Round half up to 2 decimals, exactly (no binary floating point on the way)."""
    return Fraction(math.floor(points * 100 + Fraction(1, 2)), 100)


def readiness_components(submission: Submission, policy: Policy) -> list[Component]:
    """P3: the base for passing eligibility plus the rest of 100 points in proportion to the plan's ratio."""
    base = to_cents(Fraction(str(policy.eligibility_base_points)))
    weight = MAX_SCORE - base
    offered_hours = submission.gpus_requested * AVERAGE_MONTH_HOURS
    plan_ratio = min(Fraction(submission.planned_gpu_hours_per_month, offered_hours), Fraction(1))
    plan_points = to_cents(weight * plan_ratio)
    return [
        Component("eligibility_base", float(base), f"passed every {submission.program} eligibility rule"),
        Component("plan_readiness", float(plan_points),
                  f"{float(weight):g} x plan ratio {float(plan_ratio):.4f} = min(1, "
                  f"{submission.planned_gpu_hours_per_month} planned GPU-hours per month / "
                  f"({submission.gpus_requested} GPUs x {AVERAGE_MONTH_HOURS} h))"),
    ]


def _mean(reviews: Sequence[Review], criterion: str) -> Fraction:
    return sum((Fraction(str(r.scores[criterion])) for r in reviews), Fraction(0)) / len(reviews)


def rubric(reviews: Sequence[Review], policy: Policy) -> tuple[list[CriterionScore], Component]:
    """Each criterion's mean over the reviews, weighted; the rubric is their exact sum, rounded once."""
    criteria, exact, terms = [], Fraction(0), []
    for name in CRITERIA:
        mean, weight = _mean(reviews, name), policy.weight(name)
        exact += weight * mean
        terms.append(f"{float(weight):.4f} x {float(mean):.2f}")
        criteria.append(CriterionScore(name, float(weight), float(to_cents(mean)), len(reviews),
                                       float(to_cents(weight * mean)), float(mean)))
    points = to_cents(exact)
    detail = (f"weighted mean of {len(reviews)} review(s): {' + '.join(terms)} = {float(points):.2f} "
              f"(weight x mean {', '.join(CRITERIA)})")
    return criteria, Component("rubric", float(points), detail)


def _bonus(name: str, earned: bool, points: float, rule: str) -> Component:
    return Component(name, points if earned else 0.0, f"{rule}: {'+' if earned else 'not earned, +0 of '}"
                                                      f"{points:g}")


def bonuses(s: Submission, p: Policy) -> list[Component]:
    """Every bonus of the program, earned or not, each with the rule behind it."""
    if s.program == "P1":
        age = (facts.age_on(s.company.representative_birth_date, s.submitted_on)
               if s.company is not None else None)
        return [
            _bonus("bonus_regional", facts.is_regional_company(s, p), p.p1_regional_bonus_points,
                   f"regional company: head office in {facts.p1_region(s)}, outside the capital region "
                   f"({', '.join(p.capital_region)})"),
            _bonus("bonus_youth", facts.is_youth_company(s, p), p.p1_youth_bonus_points,
                   f"youth company: representative aged {p.youth_max_age_years} or under on {s.submitted_on} "
                   f"(aged {age if age is not None else 'unknown'})"),
        ]
    if s.program == "P2":
        return [_bonus("bonus_non_capital_region", facts.is_non_capital_researcher(s, p),
                       p.p2_non_capital_bonus_points,
                       f"researcher outside the capital region ({', '.join(p.capital_region)}): "
                       f"affiliated in {s.applicant.region}")]
    return []


def score_reviews(s: Submission, reviews: Sequence[Review], policy: Policy) -> Scorecard:
    """The rubric of the reviews plus the program's bonuses; the components add up to the final score."""
    criteria, rubric_component = rubric(reviews, policy)
    return Scorecard(criteria, [rubric_component, *bonuses(s, policy)])
