"""A policy what-if: a selected round replayed from the inputs kept at its selection under another policy (rules,
bonus points, rubric weights), compared with the replay under the recorded policy and with the stored decisions.

Pure: nothing is stored, placed or published. Placement on concrete servers is not replayed, so the what-if compares
selections (what the knapsack chooses), not which servers would hold them; comparison.py does the comparing.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from functools import lru_cache
from typing import Any, Literal, get_args, get_origin, get_type_hints
from uuid import UUID

from allocation.domain.errors import InvalidInput
from allocation.domain.model import RoundCandidate
from allocation.domain.selection import Candidate, RoundRules, Selection, select_round

CRITERIA = ("technical_social_impact", "ai_ecosystem_contribution", "capability_readiness")
BONUS_FACTS = ("regional_company", "youth_company", "non_capital_region")
# the facts that place an applicant outside the capital region: P1's regional company, P2's non-capital researcher
NON_CAPITAL_FACTS = frozenset({"regional_company", "non_capital_region"})
MAX_POINTS = 100
WEIGHT_PRECISION = 10_000        # weights are read to 1/10,000, as evaluation reads them
MEAN_PRECISION = 1_000_000       # a mean of reviews is a fraction of small denominator: recovered from its float
RegionClass = Literal["capital", "non_capital"]


def region_class(facts: Collection[str]) -> RegionClass:
    """Non-capital when evaluation found a regional company (P1) or a non-capital researcher (P2), else capital."""
    return "non_capital" if NON_CAPITAL_FACTS & set(facts) else "capital"


@dataclass(frozen=True)
class InputCandidate:
    """A candidate as selection saw it, with what its score was made of (empty for events published before it)."""

    application_id: UUID
    score: float
    track: str
    institution: str
    gpu_model: str
    gpus: int
    submitted_order: int
    region_class: str | None = None
    sector: str | None = None
    bonuses: Mapping[str, float] = field(default_factory=dict)
    rubric_means: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RoundInput:
    """What a round's selection started from: its candidates, the GPUs free per model, and the rules in force."""

    call_id: UUID
    rules: Mapping[str, Any]
    capacity: Mapping[str, int]
    candidates: tuple[InputCandidate, ...]
    kept_at: datetime


def kept(call_id: UUID, rules: RoundRules, capacity: Mapping[str, int], ordered: Sequence[RoundCandidate],
         at: datetime) -> RoundInput:
    """The input of a selection over `ordered` (its submitted order is the position, as selection numbers it)."""
    return RoundInput(call_id, dataclasses.asdict(rules), dict(capacity), tuple(
        InputCandidate(c.application_id, c.score, c.track, c.institution, c.gpu_model, c.gpus, i, c.region_class,
                       c.sector, dict(c.bonuses), dict(c.rubric_means)) for i, c in enumerate(ordered)), at)


@dataclass(frozen=True)
class Variant:
    """Another policy: overrides of RoundRules fields, points per bonus fact, and rubric weights (all three)."""

    name: str
    rules: Mapping[str, Any] = field(default_factory=dict)
    bonus_points: Mapping[str, float] = field(default_factory=dict)
    rubric_weights: Mapping[str, float] | None = None


def recorded_rules(item: RoundInput) -> RoundRules:
    """The rules as recorded; a field RoundRules no longer has is dropped, one it has since gained takes its default."""
    known = {f.name for f in dataclasses.fields(RoundRules)}
    return RoundRules(**{k: v for k, v in item.rules.items() if k in known})


def variant_rules(base: RoundRules, variant: Variant, where: str) -> RoundRules:
    """The recorded rules with the variant's overrides, each checked against the RoundRules field it names."""
    hints = get_type_hints(RoundRules)
    for name, value in variant.rules.items():
        if name not in hints or name.startswith("_"):
            raise InvalidInput(f"{where}.{name}", "not a rule of round selection")
        if not _fits(hints[name], value):
            raise InvalidInput(f"{where}.{name}", f"{value!r} is not a valid {name}")
    try:
        return dataclasses.replace(base, **variant.rules)
    except InvalidInput as e:
        named = e.field if e.field in variant.rules else None
        raise InvalidInput(f"{where}.{named or next(iter(variant.rules), 'rules')}", str(e)) from None


def _fits(hint: Any, value: Any) -> bool:
    if get_origin(hint) is Literal:
        return value in get_args(hint)
    allowed = get_args(hint) or (hint,)
    if value is None:
        return type(None) in allowed
    if isinstance(value, bool):
        return bool in allowed
    if isinstance(value, int) and (int in allowed or float in allowed):
        return True
    if isinstance(value, float):
        return float in allowed and math.isfinite(value)
    return (any(a is str for a in allowed) and isinstance(value, str)) or any(
        get_origin(a) is Literal and value in get_args(a) for a in allowed)


def check(variant: Variant, where: str) -> None:
    """Bonus points 0..100 for known facts; rubric weights for exactly the three criteria, each >= 0, summing to 1."""
    for fact, points in variant.bonus_points.items():
        if fact not in BONUS_FACTS:
            raise InvalidInput(f"{where}.bonus_points.{fact}", f"not a bonus fact ({', '.join(BONUS_FACTS)})")
        if not 0 <= points <= MAX_POINTS:
            raise InvalidInput(f"{where}.bonus_points.{fact}", f"must be 0..{MAX_POINTS} points")
    weights = variant.rubric_weights
    if weights is None:
        return
    if set(weights) != set(CRITERIA):
        raise InvalidInput(f"{where}.rubric_weights", f"needs exactly the criteria {', '.join(CRITERIA)}")
    if any(not 0 <= w <= 1 for w in weights.values()) or abs(sum(weights.values()) - 1) > 1e-4:
        raise InvalidInput(f"{where}.rubric_weights", "each weight is 0..1 and together they sum to 1")


def _cents(points: Fraction) -> Fraction:
    """Round half up to 2 decimals, exactly (evaluation's rounding of the rubric)."""
    return Fraction(math.floor(points * 100 + Fraction(1, 2)), 100)


@lru_cache(maxsize=4096)
def _exact(points: float) -> Fraction:
    """A number of points as written (3.1 is 31/10, not the binary float nearest to it)."""
    return Fraction(str(points))


@lru_cache(maxsize=64)
def _weight(weight: float) -> Fraction:
    return Fraction(weight).limit_denominator(WEIGHT_PRECISION)


def _rubric(means: Mapping[str, float], weights: Mapping[str, float]) -> Fraction:
    """Σ weight x mean rounded half up to cents. In floats first; exactly (each mean recovered as the fraction of
    small denominator it is) only when the float lands next to a half cent, where rounding could go either way."""
    cents = sum(float(_weight(weights[k])) * means[k] for k in CRITERIA) * 100
    if abs(cents - math.floor(cents) - 0.5) > 1e-6:
        return Fraction(math.floor(cents + 0.5), 100)
    return _cents(sum((_weight(weights[k]) * Fraction(means[k]).limit_denominator(MEAN_PRECISION)
                       for k in CRITERIA), Fraction(0)))


def rescore(c: InputCandidate, variant: Variant) -> float:
    """The candidate's score under the variant: the rubric (re-weighted if the variant weighs it and the means were
    kept, else as recorded) plus, for each bonus fact it earned, the variant's points or else the recorded ones."""
    reweighed = variant.rubric_weights is not None and set(c.rubric_means) >= set(CRITERIA)
    if not reweighed and not variant.bonus_points.keys() & c.bonuses.keys():
        return c.score                                        # nothing of its score changes
    recorded_bonus = sum((_exact(p) for p in c.bonuses.values()), Fraction(0))
    if reweighed:
        assert variant.rubric_weights is not None
        rubric = _rubric(c.rubric_means, variant.rubric_weights)
    else:
        rubric = _exact(c.score) - recorded_bonus
    bonus = sum((_exact(variant.bonus_points.get(f, p)) for f, p in c.bonuses.items()), Fraction(0))
    return float(rubric + bonus)


@dataclass(frozen=True)
class Replay:
    """One policy's selection over the kept input, with the scores it ranked by."""

    name: str
    scores: Mapping[UUID, float]
    selection: Selection


def replay(item: RoundInput, variant: Variant, rules: RoundRules, *, exact_limit: int = 20_000,
           time_limit_s: float = 60.0) -> Replay:
    scores = {c.application_id: rescore(c, variant) for c in item.candidates}
    candidates = [Candidate(c.application_id, scores[c.application_id], c.track, c.institution, c.gpu_model, c.gpus,
                            c.submitted_order) for c in item.candidates]
    chosen = select_round(candidates, item.capacity, rules, exact_limit=exact_limit, time_limit_s=time_limit_s)
    return Replay(variant.name, scores, chosen)
