"""The policy what-if of a 10,000-application P2-like round with three variants (a bigger reserve, a bigger regional
bonus, re-weighted rubric), against one plain selection of the same round measured in the same run.

The what-if solves the round four times (the recorded policy's replay and each variant) and compares each with it and
with the stored decisions, so about four times the baseline is what to expect. Times are in ms.
"""
from __future__ import annotations

import dataclasses
import math
import random
import uuid
from datetime import UTC, datetime
from fractions import Fraction

from allocation.domain.comparison import what_if
from allocation.domain.rounds import RoundDecision
from allocation.domain.selection import Candidate, RoundRules, select_round
from allocation.domain.whatif import CRITERIA, InputCandidate, RoundInput, Variant
from bench.common import Result, clock
from bench.selection import APPLICATIONS, CAPACITY, INSTITUTIONS, SIZES

RUNS = 3
WEIGHTS = {"technical_social_impact": 0.4, "ai_ecosystem_contribution": 0.3, "capability_readiness": 0.3}
SECTORS = ["academia", "research_institute", "industry", "public"]
VARIANTS = [Variant("reserve 40 %", {"reserve_share": 0.40}),
            Variant("regional bonus 6", bonus_points={"non_capital_region": 6.0}),
            Variant("impact first", rubric_weights={"technical_social_impact": 0.6, "ai_ecosystem_contribution": 0.2,
                                                    "capability_readiness": 0.2})]


def _candidate(rng: random.Random, n: int) -> InputCandidate:
    means = {k: round(min(100.0, max(0.0, rng.gauss(70, 10))), 2) for k in CRITERIA}
    rubric = sum(Fraction(WEIGHTS[k]).limit_denominator(10_000) * Fraction(str(m)) for k, m in means.items())
    regional = rng.random() < 0.4
    bonuses = {"non_capital_region": 3.0} if regional else {}
    score = float(Fraction(math.floor(rubric * 100 + Fraction(1, 2)), 100) + (3 if regional else 0))
    return InputCandidate(uuid.UUID(int=rng.getrandbits(128)), score,
                          "early_career" if rng.random() < 0.30 else "general", rng.choices(INSTITUTIONS, SIZES)[0],
                          rng.choice(list(CAPACITY)), 8 * rng.choice([1, 1, 1, 2, 2, 3, 4]), n,
                          "non_capital" if regional else "capital", rng.choice(SECTORS), bonuses, means)


def _round(rng: random.Random) -> RoundInput:
    candidates = tuple(_candidate(rng, n) for n in range(APPLICATIONS))
    return RoundInput(uuid.uuid4(), dataclasses.asdict(RoundRules.p2()), CAPACITY, candidates, datetime.now(UTC))


def _plain(item: RoundInput) -> float:
    start = clock()
    select_round([Candidate(c.application_id, c.score, c.track, c.institution, c.gpu_model, c.gpus,
                            c.submitted_order) for c in item.candidates], item.capacity, RoundRules.p2())
    return (clock() - start) * 1000


async def run() -> list[Result]:
    item = _round(random.Random(20261130))
    chosen = select_round([Candidate(c.application_id, c.score, c.track, c.institution, c.gpu_model, c.gpus,
                                     c.submitted_order) for c in item.candidates], item.capacity, RoundRules.p2())
    by_id = {c.application_id: c for c in item.candidates}
    stored = [RoundDecision(d.application_id, d.selected, d.rank, d.basis, d.reason, by_id[d.application_id].score,
                            by_id[d.application_id].gpus, None) for d in chosen.decisions]
    plain, whatifs = [], []
    for _ in range(RUNS):
        plain.append(_plain(item))
        start = clock()
        found = what_if(item, stored, VARIANTS)
        whatifs.append((clock() - start) * 1000)
    moved = {v.name: len(v.vs_baseline.changes) for v in found.variants}
    print(f"\nwhat-if of a {APPLICATIONS:,}-application round, {len(VARIANTS)} variants: applications changing "
          f"status {moved}; methods {[v.method for v in found.variants]}")
    return [Result("one plain selection of the round (exact)", "ms", plain),
            Result(f"what-if, {len(VARIANTS)} variants + the recorded policy's replay", "ms", whatifs,
                   {"changes": moved})]
