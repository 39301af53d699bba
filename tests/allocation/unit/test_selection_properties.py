"""Properties of round selection on random P1- and P2-like rounds, for both methods."""
from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from uuid import UUID, uuid5

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from allocation.domain.selection import Candidate, RoundRules, Selection, select_round

NAMESPACE = UUID("0c7e3f0a-5d61-4b9e-8f4e-2a9d6c1b7e55")
INSTITUTIONS = ["KAIST", "SNU", "POSTECH", "UNIST", "GIST"]
MODELS = ["H100", "H200", "A100"]
EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Round = tuple[list[Candidate], dict[str, int], RoundRules]


@st.composite
def rounds(draw: st.DrawFn, max_candidates: int = 60) -> Round:
    """1-3 GPU models with random free GPUs; P2-like (whole servers) or P1-like (1-16 GPUs) rules, with or without a
    reserve and a cap; candidates with some out-of-rule sizes, tied scores and a model nobody has (B200)."""
    whole = draw(st.booleans())
    models = draw(st.lists(st.sampled_from(MODELS), min_size=1, max_size=3, unique=True))
    capacity = {m: draw(st.integers(0, 10)) * 8 if whole else draw(st.integers(0, 80)) for m in models}
    rules = RoundRules(whole_servers=whole, max_gpus=None if whole else 16,
                       reserve_share=draw(st.sampled_from([0.0, 0.3, 0.5])),
                       institution_cap_share=draw(st.sampled_from([None, 0.1, 0.25])))
    sizes = st.sampled_from([8, 8, 16, 16, 24, 32, 12, 0]) if whole else st.integers(0, 18)
    scores = st.one_of(st.sampled_from([50.0, 70.0, 90.0]), st.integers(0, 10_000).map(lambda x: x / 100))
    rows = draw(st.lists(st.tuples(scores, st.sampled_from(["general", "early_career"]), st.sampled_from(INSTITUTIONS),
                                   st.sampled_from([*models, *models, "B200"]), sizes, st.integers(0, 3)),
                         min_size=1, max_size=max_candidates))
    candidates = [Candidate(application_id=uuid5(NAMESPACE, str(i)), score=score, track=track, institution=inst,
                            gpu_model=model, gpus=gpus, submitted_order=order)
                  for i, (score, track, inst, model, gpus, order) in enumerate(rows)]
    return candidates, capacity, rules


def by_basis(selection: Selection, candidates: list[Candidate], *bases: str) -> list[Candidate]:
    basis = {d.application_id: d.basis for d in selection.decisions}
    return [c for c in candidates if basis[c.application_id] in bases]


def value(chosen: Iterable[Candidate]) -> int:
    """The objective as the solver compares it: score points x100 times GPUs."""
    return sum(round(c.score * 100) * c.gpus for c in chosen)


def fits(chosen: Iterable[Candidate], left: Mapping[str, int], budget: int | None, cap: int | None,
         held: Mapping[str, int]) -> bool:
    chosen = list(chosen)
    per_model, per_institution = Counter[str](), Counter(held)
    for c in chosen:
        per_model[c.gpu_model] += c.gpus
        per_institution[c.institution] += c.gpus
    return (all(gpus <= left.get(m, 0) for m, gpus in per_model.items())
            and (budget is None or sum(c.gpus for c in chosen) <= budget)
            and (cap is None or all(per_institution[c.institution] <= cap for c in chosen)))


def best_value(pool: list[Candidate], left: Mapping[str, int], budget: int | None, cap: int | None,
               held: Mapping[str, int]) -> int:
    """The stage's optimum by trying every subset."""
    return max(value(subset) for k in range(len(pool) + 1) for subset in itertools.combinations(pool, k)
               if fits(subset, left, budget, cap, held))


def limits(candidates: list[Candidate], capacity: dict[str, int], rules: RoundRules) -> tuple[list[Candidate], int,
                                                                                               int | None]:
    total = sum(capacity.values())
    valid = [c for c in candidates if rules.invalid_reason(c) is None]
    return valid, rules.reserve_gpus(total), rules.institution_cap(total)


@EXAMPLES
@given(rounds(), st.sampled_from(["exact", "heuristic"]))
def test_every_candidate_is_decided_once_the_selected_first_ranked_1_to_n(round_: Round, method: str) -> None:
    candidates, capacity, rules = round_
    selection = select_round(candidates, capacity, rules, method=method)
    assert sorted(d.application_id for d in selection.decisions) == sorted(c.application_id for c in candidates)
    assert [d.rank for d in selection.decisions] == list(range(1, len(candidates) + 1))
    assert [d.selected for d in selection.decisions] == sorted((d.selected for d in selection.decisions),
                                                                reverse=True)
    assert all(d.reason for d in selection.decisions)
    if method == "heuristic":
        assert {d.basis for d in selection.waitlisted} <= {"capacity", "institution_cap", "invalid"}


@EXAMPLES
@given(rounds(), st.sampled_from(["exact", "heuristic"]))
def test_no_model_is_overbooked_and_every_grant_keeps_the_programs_unit(round_: Round, method: str) -> None:
    candidates, capacity, rules = round_
    selection = select_round(candidates, capacity, rules, method=method)
    chosen = by_basis(selection, candidates, "reserve", "open", "reserve_cap_lifted", "cap_lifted")
    assert fits(chosen, capacity, None, None, {})
    if rules.whole_servers:
        assert all(c.gpus > 0 and c.gpus % rules.server_gpus == 0 for c in chosen)
    else:
        assert all(1 <= c.gpus <= 16 for c in chosen)
    assert selection.gpus_awarded == sum(c.gpus for c in chosen)


@EXAMPLES
@given(rounds(), st.sampled_from(["exact", "heuristic"]))
def test_the_reserve_and_the_cap_hold_over_the_first_two_stages(round_: Round, method: str) -> None:
    candidates, capacity, rules = round_
    valid, reserved, cap = limits(candidates, capacity, rules)
    selection = select_round(candidates, capacity, rules, method=method)
    reserve, kept = by_basis(selection, candidates, "reserve"), by_basis(selection, candidates, "reserve_cap_lifted")
    assert all(c.track == "early_career" for c in reserve + kept)
    assert selection.reserve_gpus == reserved and selection.reserve_gpus_used == sum(c.gpus for c in reserve + kept)
    assert fits(reserve, capacity, reserved, cap, {}) and selection.reserve_gpus_used <= reserved
    assert fits(by_basis(selection, candidates, "reserve", "open"), capacity, None, cap, {})
    assert not kept or cap is not None                        # only the cap's lifting hands out what it kept
    track = [c for c in valid if c.track == "early_career"]
    if reserved and fits(track, capacity, reserved, cap, {}):
        assert reserve == track                               # all of a reserve track that fits is taken first


def most_gpus(pool: list[Candidate], left: Mapping[str, int], budget: int | None, cap: int | None,
              held: Mapping[str, int]) -> int:
    return max(sum(c.gpus for c in subset) for k in range(len(pool) + 1)
               for subset in itertools.combinations(pool, k) if fits(subset, left, budget, cap, held))


def best_filling(pool: list[Candidate], left: Mapping[str, int], budget: int | None, cap: int | None,
                 held: Mapping[str, int]) -> tuple[int, int]:
    """The lexicographic optimum: the most GPUs, then the best value among the selections taking that many."""
    most = most_gpus(pool, left, budget, cap, held)
    return most, max(value(subset) for k in range(len(pool) + 1) for subset in itertools.combinations(pool, k)
                     if sum(c.gpus for c in subset) == most and fits(subset, left, budget, cap, held))


def stage_value(chosen: list[Candidate], fill_first: bool) -> tuple[int, int] | int:
    return (sum(c.gpus for c in chosen), value(chosen)) if fill_first else value(chosen)


@settings(max_examples=60, deadline=None)
@given(rounds(max_candidates=11), st.sampled_from(["fill", "score"]))
def test_each_exact_stage_is_the_optimum_given_the_stages_before_it(round_: Round, objective: str) -> None:
    """The reserve: the most reserved GPUs, then the best score ("fill"), or the best score ("score"); open
    competition on what is left but the GPUs kept for the reserve track's capped-out requests; those requests' best
    filling of the unused reserve once the cap is lifted; then everyone on what is left, without the cap."""
    candidates, capacity, rules = round_
    rules = replace(rules, reserve_objective=objective)
    valid, reserved, cap = limits(candidates, capacity, rules)
    selection = select_round(candidates, capacity, rules, method="exact")
    assert selection.method == "exact"
    fill = objective == "fill"
    left, held, earlier = Counter(capacity), Counter[str](), set[UUID]()

    def take(chosen: list[Candidate], count_held: bool) -> None:
        for c in chosen:
            left[c.gpu_model] -= c.gpus
            held[c.institution] += c.gpus if count_held else 0
            earlier.add(c.application_id)

    reserve = by_basis(selection, candidates, "reserve")
    track = [c for c in valid if c.track == rules.reserve_track]
    assert stage_value(reserve, fill) == (best_filling if fill else best_value)(track, left, reserved, cap, {})
    take(reserve, True)
    kept = by_basis(selection, candidates, "reserve_cap_lifted")
    capped_out = [c for c in track if c.application_id not in earlier and cap is not None
                  and held[c.institution] + c.gpus > cap]
    unused = reserved - sum(c.gpus for c in reserve)
    if kept:
        assert stage_value(kept, fill) == (best_filling if fill else best_value)(capped_out, left, unused, None, {})
    else:
        assert cap is None or not unused or most_gpus(capped_out, left, unused, None, {}) == 0
    kept_back = Counter[str]()
    for c in kept:
        kept_back[c.gpu_model] += c.gpus
    open_pool = [c for c in valid if c.application_id not in earlier]
    open_chosen = by_basis(selection, candidates, "open")
    assert value(open_chosen) == best_value(open_pool, left - kept_back, None, cap, held if cap else {})
    take(open_chosen + kept, False)
    lifted = by_basis(selection, candidates, "cap_lifted")
    if cap is None:
        assert lifted == []
    else:
        assert value(lifted) == best_value([c for c in valid if c.application_id not in earlier], left, None, None, {})


@EXAMPLES
@given(rounds(), st.sampled_from(["exact", "heuristic"]))
def test_every_waiting_candidate_is_told_the_constraint_that_kept_it_out(round_: Round, method: str) -> None:
    """Walking the ranking: "capacity" when the reserve, what was kept for it and the higher-ranked open grants left
    too few GPUs of its model; "institution_cap" when GPUs were there but its institution held too many under the cap;
    "score" (exact only) when both would have let it in and lower-ranked requests were worth more together."""
    candidates, capacity, rules = round_
    _, _, cap = limits(candidates, capacity, rules)
    selection = select_round(candidates, capacity, rules, method=method)
    by_id = {c.application_id: c for c in candidates}
    ranked = sorted(candidates, key=lambda c: c.rank_key)
    basis = {d.application_id: d.basis for d in selection.decisions}
    left, held = Counter(capacity), Counter[str]()
    for c in ranked:
        if basis[c.application_id] in ("reserve", "reserve_cap_lifted"):
            left[c.gpu_model] -= c.gpus
            held[c.institution] += c.gpus if basis[c.application_id] == "reserve" else 0
    for c in ranked:
        told = basis[c.application_id]
        if told == "capacity":
            assert c.gpus > left[c.gpu_model]
        elif told == "institution_cap":
            assert c.gpus <= left[c.gpu_model] and cap is not None and held[c.institution] + c.gpus > cap
        elif told == "score":
            assert method == "exact" and c.gpus <= left[c.gpu_model]
            assert cap is None or held[c.institution] + c.gpus <= cap
        elif told == "open":
            left[c.gpu_model] -= c.gpus
            held[c.institution] += c.gpus
    assert by_id.keys() == basis.keys()


@EXAMPLES
@given(rounds())
def test_exact_is_never_worse_than_greedy_on_the_same_stage_problem(round_: Round) -> None:
    candidates, capacity, rules = round_
    _, reserved, cap = limits(candidates, capacity, rules)
    exact = select_round(candidates, capacity, rules, method="exact")
    greedy = select_round(candidates, capacity, rules, method="heuristic")
    assert (stage_value(by_basis(exact, candidates, "reserve"), fill_first=True)       # the most GPUs, then value
            >= stage_value(by_basis(greedy, candidates, "reserve"), fill_first=True))
    if not reserved:                                          # later stages start from the same GPUs only then
        assert value(by_basis(exact, candidates, "open")) >= value(by_basis(greedy, candidates, "open"))
    if not reserved and cap is None:
        assert exact.objective >= greedy.objective - 1e-6


@EXAMPLES
@given(rounds(), st.sampled_from(["exact", "heuristic"]), st.randoms(use_true_random=False))
def test_the_input_order_never_changes_the_decisions(round_: Round, method: str, rng: random.Random) -> None:
    candidates, capacity, rules = round_
    shuffled = rng.sample(candidates, len(candidates))
    assert (select_round(shuffled, capacity, rules, method=method).decisions
            == select_round(candidates, capacity, rules, method=method).decisions)
