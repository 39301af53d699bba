"""The policy what-if, pure: scores recomputed exactly, a round replayed under another policy, and the comparison."""
from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Mapping
from datetime import UTC, date, datetime
from fractions import Fraction
from uuid import UUID

import pytest

from allocation.domain.commands import AddRoundCandidate
from allocation.domain.comparison import Comparison, what_if
from allocation.domain.errors import InvalidInput
from allocation.domain.rounds import RoundDecision
from allocation.domain.selection import RoundRules
from allocation.domain.whatif import CRITERIA, InputCandidate, RoundInput, Variant, region_class, rescore
from allocation.entrypoints.consumer import on_scored
from contracts import ApplicationScored

AT = datetime(2027, 3, 1, tzinfo=UTC)
WEIGHTS = {"technical_social_impact": 0.4, "ai_ecosystem_contribution": 0.3, "capability_readiness": 0.3}


def cents(points: Fraction) -> Fraction:
    return Fraction(math.floor(points * 100 + Fraction(1, 2)), 100)


def scored(n: int, means: tuple[Fraction, Fraction, Fraction], *, bonuses: Mapping[str, float] | None = None,
           track: str = "general", institution: str | None = None, gpus: int = 8, sector: str = "academia",
           weights: Mapping[str, float] = WEIGHTS) -> InputCandidate:
    """A candidate whose recorded score is evaluation's: the weighted rubric rounded once, plus its bonuses."""
    bonuses = dict(bonuses or {})
    rubric = cents(sum((Fraction(weights[k]).limit_denominator(10_000) * m for k, m in zip(CRITERIA, means,
                                                                                           strict=True)), Fraction(0)))
    score = float(rubric + sum((Fraction(str(p)) for p in bonuses.values()), Fraction(0)))
    return InputCandidate(UUID(int=n + 1), score, track, institution or f"Institute {n}", "H200", gpus, n,
                          region_class(bonuses), sector, bonuses, {k: float(m) for k, m in zip(CRITERIA, means,
                                                                                                strict=True)})


def kept(candidates: list[InputCandidate], gpus: int, rules: RoundRules | None = None) -> RoundInput:
    return RoundInput(UUID(int=999), dataclasses.asdict(rules or RoundRules.p2()), {"H200": gpus},
                      tuple(candidates), AT)


def decided(item: RoundInput, selected: set[UUID]) -> list[RoundDecision]:
    return [RoundDecision(c.application_id, c.application_id in selected, i + 1, "open" if c.application_id in
                          selected else "capacity", "", c.score, c.gpus, None) for i, c in enumerate(item.candidates)]


def replayed(item: RoundInput, *variants: Variant) -> list[Comparison]:
    result = what_if(item, [], variants)
    return [v.vs_baseline for v in result.variants]


def test_a_score_is_recomputed_exactly_from_the_means_and_the_bonus_points() -> None:
    third = Fraction(251, 3)                                          # a mean of 80, 85 and 86
    c = scored(0, (third, Fraction(70), Fraction(9001, 100)), bonuses={"non_capital_region": 3.0})
    equal = {k: 1 / 3 for k in CRITERIA}
    expected = cents(Fraction(1, 3) * (third + 70 + Fraction(9001, 100))) + 5
    assert rescore(c, Variant("equal", rubric_weights=equal, bonus_points={"non_capital_region": 5})) == \
        float(expected)
    assert rescore(c, Variant("recorded")) == c.score                  # nothing given: the recorded score as it is
    drift = dataclasses.replace(c, score=80.3, bonuses={"regional_company": 3.1})
    assert rescore(drift, Variant("no bonus", bonus_points={"regional_company": 0})) == 77.2  # not 77.19999…


def test_the_recorded_policy_as_a_variant_changes_nobody() -> None:
    rng = random.Random(7)
    candidates = [scored(n, tuple(Fraction(rng.randint(5000, 10000), 100) for _ in CRITERIA),  # type: ignore[arg-type]
                         bonuses={"non_capital_region": 3.0} if rng.random() < 0.4 else {},
                         track="early_career" if rng.random() < 0.3 else "general",
                         institution=f"Institute {rng.randint(0, 9)}") for n in range(60)]
    item = kept(candidates, 160)
    same = Variant("same", {"reserve_share": 0.30, "institution_cap_share": 0.10},
                   {"non_capital_region": 3.0}, dict(WEIGHTS))
    (comparison,) = replayed(item, same)
    assert comparison.changes == ()
    assert comparison.objective_after == comparison.objective_before
    assert all(before == after for groups in comparison.gpus.values() for before, after in groups.values())


def test_raising_the_reserve_share_moves_gpus_to_early_career() -> None:
    general = [scored(n, (Fraction(90 - n),) * 3, institution=f"Institute {n}") for n in range(8)]
    early = [scored(10 + n, (Fraction(50 - n),) * 3, track="early_career", institution=f"Lab {n}")
             for n in range(6)]
    (comparison,) = replayed(kept([*general, *early], 64), Variant("half", {"reserve_share": 0.5}))
    (before_early, after_early) = comparison.gpus["track"]["early_career"]
    assert (before_early, after_early) == (16, 32)                    # 30 % of 64 is 2 servers, 50 % is 4
    assert comparison.gpus["track"]["general"] == (48, 32)
    moved_in = {c.application_id for c in comparison.changes if c.after_selected}
    assert moved_in == {c.application_id for c in early[2:4]}


def test_changing_a_bonus_flips_a_known_pair() -> None:
    capital = scored(0, (Fraction(80),) * 3, institution="SNU")                       # 80
    regional = scored(1, (Fraction(78),) * 3, bonuses={"non_capital_region": 3.0}, institution="PNU")  # 81
    item = kept([capital, regional], 8, RoundRules(whole_servers=True))
    (comparison,) = replayed(item, Variant("smaller bonus", bonus_points={"non_capital_region": 1.0}))
    flips = {c.application_id: (c.before_selected, c.after_selected, c.score_before, c.score_after)
             for c in comparison.changes}
    assert flips == {capital.application_id: (False, True, 80.0, 80.0),
                     regional.application_id: (True, False, 81.0, 79.0)}
    assert comparison.gpus["region_class"] == {"capital": (0, 8), "non_capital": (8, 0)}
    assert (comparison.objective_before, comparison.objective_after) == (81.0 * 8, 80.0 * 8)


def test_the_comparison_adds_up_in_every_dimension_and_against_the_stored_decisions() -> None:
    rng = random.Random(3)
    candidates = [scored(n, tuple(Fraction(rng.randint(4000, 10000), 100) for _ in CRITERIA),  # type: ignore[arg-type]
                         bonuses={"regional_company": 3.0} if rng.random() < 0.5 else {},
                         track="early_career" if rng.random() < 0.3 else "general",
                         institution=f"Institute {rng.randint(0, 14)}", gpus=8 * rng.randint(1, 3),
                         sector=rng.choice(["academia", "industry", "public"])) for n in range(80)]
    item = kept(candidates, 240)
    stored = decided(item, {c.application_id for c in candidates[:10]})
    result = what_if(item, stored, [Variant("cap 20 %", {"institution_cap_share": 0.2}, {"regional_company": 6.0},
                                            {"technical_social_impact": 0.6, "ai_ecosystem_contribution": 0.2,
                                             "capability_readiness": 0.2})])
    (variant,) = result.variants
    for comparison in (variant.vs_baseline, variant.vs_decisions, result.baseline_vs_decisions):
        for name in ("region_class", "sector", "track"):
            groups = comparison.gpus[name].values()
            assert (sum(b for b, _ in groups), sum(a for _, a in groups)) == (comparison.gpus_before,
                                                                            comparison.gpus_after)
        shift = sum(a - b for b, a in comparison.gpus["institution"].values())
        assert shift == comparison.gpus_after - comparison.gpus_before
        gained = sum(c.gpus for c in candidates for x in comparison.changes
                     if x.application_id == c.application_id and x.after_selected)
        lost = sum(c.gpus for c in candidates for x in comparison.changes
                   if x.application_id == c.application_id and x.before_selected)
        assert gained - lost == comparison.gpus_after - comparison.gpus_before
    assert variant.vs_baseline.gpus_after == variant.vs_decisions.gpus_after
    assert result.baseline_vs_decisions.gpus_before == sum(c.gpus for c in candidates[:10])
    assert variant.rules["institution_cap_share"] == 0.2 and variant.rules["reserve_share"] == 0.30


@pytest.mark.parametrize(("variant", "field"), [
    (Variant("x", {"reserve_share": 1.5}), "variants.0.reserve_share"),
    (Variant("x", {"reserve_share": "lots"}), "variants.0.reserve_share"),
    (Variant("x", {"no_such_rule": 1}), "variants.0.no_such_rule"),
    (Variant("x", {"reserve_objective": "luck"}), "variants.0.reserve_objective"),
    (Variant("x", rubric_weights={"technical_social_impact": 0.5, "ai_ecosystem_contribution": 0.5,
                                  "capability_readiness": 0.5}), "variants.0.rubric_weights"),
    (Variant("x", rubric_weights={"technical_social_impact": 1.0}), "variants.0.rubric_weights"),
    (Variant("x", bonus_points={"youth_company": 101}), "variants.0.bonus_points.youth_company"),
])
def test_a_bad_variant_is_refused_naming_its_field(variant: Variant, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        what_if(kept([scored(0, (Fraction(80),) * 3)], 8), [], [variant])
    assert refused.value.field == field


def test_a_rule_the_selection_has_passes_through_to_the_replay() -> None:
    result = what_if(kept([scored(0, (Fraction(80),) * 3)], 8), [],
                     [Variant("by score", {"reserve_objective": "score", "institution_cap_share": None})])
    assert (result.variants[0].rules["reserve_objective"], result.variants[0].rules["institution_cap_share"]) == (
        "score", None)


def test_region_class_reads_the_regional_facts() -> None:
    assert (region_class(["regional_company", "youth_company"]), region_class(["non_capital_region"]),
            region_class(["youth_company", "early_career"]), region_class([])) == (
        "non_capital", "non_capital", "capital", "capital")


def test_a_scored_event_brings_the_facts_of_its_score_to_the_round_candidate() -> None:
    event = ApplicationScored(
        application_id=UUID(int=1), program="P2", call_id=UUID(int=2), score=84.5, policy_version="2026.1",
        institution="PNU", gpus_requested=8, gpu_model="H200", period_start=date(2027, 3, 1),
        period_end=date(2027, 8, 31), planned_gpu_hours_per_month=3000, facts=["non_capital_region"],
        sector="public", bonuses={"non_capital_region": 3.0}, rubric_means={"capability_readiness": 81.5})
    new, old = on_scored(event), on_scored(event.model_copy(update={"sector": None, "bonuses": {},
                                                                    "rubric_means": {}}))
    assert isinstance(new, AddRoundCandidate) and isinstance(old, AddRoundCandidate)
    assert (new.region_class, new.sector, new.bonuses, new.rubric_means) == (
        "non_capital", "public", {"non_capital_region": 3.0}, {"capability_readiness": 81.5})
    assert (old.region_class, old.sector, old.bonuses, old.rubric_means) == (None, None, {}, {})


def test_rules_the_kept_capacity_cannot_meet_are_refused_naming_the_variant() -> None:
    with pytest.raises(InvalidInput) as refused:
        what_if(kept([scored(0, (Fraction(80),) * 3)], 8), [], [Variant("ok"), Variant("x", {"server_gpus": 3})])
    assert refused.value.field == "variants.1"
