"""What a what-if changes: who moves between selected and waitlisted, GPUs by region class, institution, sector and
track, and the objective (Σ score x GPUs of the selected), between two outcomes of one round's kept input."""
from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

from allocation.domain.errors import InvalidInput
from allocation.domain.rounds import RoundDecision
from allocation.domain.selection import Decision
from allocation.domain.whatif import (
    InputCandidate,
    RoundInput,
    Variant,
    check,
    recorded_rules,
    replay,
    variant_rules,
)

UNKNOWN = "unknown"  # a group key the input did not record (candidates scored before it was published)
EARLY_CAREER = "early_career"


@dataclass(frozen=True)
class Outcome:
    """Per application: selected or not, and on which basis."""

    selected: Mapping[UUID, bool]
    basis: Mapping[UUID, str]


@dataclass(frozen=True)
class Change:
    application_id: UUID
    before_selected: bool
    before_basis: str
    after_selected: bool
    after_basis: str
    score_before: float
    score_after: float


@dataclass(frozen=True)
class Comparison:
    """`gpus` maps each dimension (region_class, institution, sector, track) to group → (before, after) GPUs awarded;
    institutions whose GPUs do not change are left out, the other dimensions are complete."""

    changes: tuple[Change, ...]
    gpus_before: int
    gpus_after: int
    gpus: Mapping[str, Mapping[str, tuple[int, int]]]
    objective_before: float
    objective_after: float


def outcome(decisions: Sequence[RoundDecision] | Sequence[Decision]) -> Outcome:
    """Of a replay's decisions, or of the stored ones (whose selected is what was granted, after placement and the
    re-check at award)."""
    return Outcome({d.application_id: d.selected for d in decisions}, {d.application_id: d.basis for d in decisions})


DIMENSIONS: dict[str, Callable[[InputCandidate], str]] = {
    "region_class": lambda c: c.region_class or UNKNOWN,
    "institution": lambda c: c.institution,
    "sector": lambda c: c.sector or UNKNOWN,
    "track": lambda c: EARLY_CAREER if c.track == EARLY_CAREER else "general",
}


def compare(candidates: Sequence[InputCandidate], before: Outcome, after: Outcome,
            scores: tuple[Mapping[UUID, float], Mapping[UUID, float]]) -> Comparison:
    """`scores` are the ones each side ranked by: the objective of each side is counted with its own. Only the
    selected on either side count, so one pass over them does it (a group with no GPUs on either side is left out)."""
    was, now = scores
    was_in = {a for a, selected in before.selected.items() if selected}
    now_in = {a for a, selected in after.selected.items() if selected}
    groups = {name: (Counter[str](), Counter[str]()) for name in DIMENSIONS}
    changes, objective = [], [0.0, 0.0]
    for c in candidates:
        a = c.application_id
        sides = (a in was_in, a in now_in)
        if sides[0] != sides[1]:
            changes.append(Change(a, sides[0], before.basis.get(a, UNKNOWN), sides[1], after.basis.get(a, UNKNOWN),
                                  was[a], now[a]))
        for side, score in ((0, was[a]), (1, now[a])):
            if sides[side]:
                objective[side] += score * c.gpus
                for name, key in DIMENSIONS.items():
                    groups[name][side][key(c)] += c.gpus
    gpus = {name: {g: (b[g], n[g]) for g in sorted(b.keys() | n.keys())} for name, (b, n) in groups.items()}
    gpus["institution"] = {k: v for k, v in gpus["institution"].items() if v[0] != v[1]}
    return Comparison(tuple(changes), sum(groups["track"][0].values()), sum(groups["track"][1].values()), gpus,
                      objective[0], objective[1])


@dataclass(frozen=True)
class VariantResult:
    """A variant's replay against the baseline replay (the recorded policy) and against the stored decisions."""

    name: str
    rules: Mapping[str, object]
    method: str
    vs_baseline: Comparison
    vs_decisions: Comparison


@dataclass(frozen=True)
class WhatIf:
    call_id: UUID
    candidates: int
    baseline_method: str
    baseline_vs_decisions: Comparison   # what placement and the re-check at award changed of the selection
    variants: tuple[VariantResult, ...]


def what_if(item: RoundInput, decisions: Sequence[RoundDecision], variants: Sequence[Variant], *,
            exact_limit: int = 20_000, time_limit_s: float = 60.0) -> WhatIf:
    """Every variant checked first (nothing is solved for a bad one), then each replayed and compared."""
    recorded = recorded_rules(item)
    rules = []
    for i, variant in enumerate(variants):
        check(variant, f"variants.{i}")
        rules.append(variant_rules(recorded, variant, f"variants.{i}"))
    base = replay(item, Variant("recorded"), recorded, exact_limit=exact_limit, time_limit_s=time_limit_s)
    stored, baseline = outcome(decisions), outcome(base.selection.decisions)
    results = []
    for i, (variant, its_rules) in enumerate(zip(variants, rules, strict=True)):
        try:
            again = replay(item, variant, its_rules, exact_limit=exact_limit, time_limit_s=time_limit_s)
        except InvalidInput as e:                 # rules the round's capacity cannot meet (e.g. other server sizes)
            raise InvalidInput(f"variants.{i}", f"{e.field}: {e}") from None
        after = outcome(again.selection.decisions)
        results.append(VariantResult(
            variant.name, dataclasses.asdict(its_rules), again.selection.method,
            compare(item.candidates, baseline, after, (base.scores, again.scores)),
            compare(item.candidates, stored, after, (base.scores, again.scores))))
    return WhatIf(item.call_id, len(item.candidates), base.selection.method,
                  compare(item.candidates, stored, baseline, (base.scores, base.scores)), tuple(results))
