"""Selecting a closed P1/P2 round, on small hand-checked rounds."""
from __future__ import annotations

import random
from dataclasses import replace
from uuid import UUID, uuid5

import pytest

from allocation.domain.errors import InvalidInput
from allocation.domain.selection import Candidate, RoundRules, Selection, select_round

NAMESPACE = UUID("6f1c9a52-8f0e-4c43-9a57-3f0b7d1e2c11")
NAMES: dict[UUID, str] = {}
BOTH = pytest.mark.parametrize("method", ["exact", "heuristic"])
WHOLE_SERVERS = RoundRules(whole_servers=True)


def a(name: str, score: float, gpus: int = 8, *, track: str = "general", institution: str = "",
      model: str = "H100", order: int = 0, application_id: UUID | None = None) -> Candidate:
    """A candidate called `name`; each one is its own institution unless told."""
    application_id = application_id or uuid5(NAMESPACE, name)
    NAMES[application_id] = name
    return Candidate(application_id=application_id, score=score, track=track, institution=institution or name,
                     gpu_model=model, gpus=gpus, submitted_order=order)


def early(name: str, score: float, gpus: int = 8, *, model: str = "H100", institution: str = "") -> Candidate:
    return a(name, score, gpus, track="early_career", model=model, institution=institution)


def granted(selection: Selection) -> dict[str, str]:
    return {NAMES[d.application_id]: d.basis for d in selection.selected}


def waitlisted(selection: Selection) -> dict[str, str]:
    return {NAMES[d.application_id]: d.basis for d in selection.waitlisted}


def reason(selection: Selection, name: str) -> str:
    return next(d.reason for d in selection.decisions if NAMES[d.application_id] == name)


@BOTH
def test_no_gpu_model_is_given_more_than_its_free_gpus(method: str) -> None:
    round_ = [a("a", 90), a("b", 85), a("c", 80), a("d", 70, model="A100"), a("e", 60, model="A100")]
    selection = select_round(round_, {"H100": 16, "A100": 8}, WHOLE_SERVERS, method=method)
    assert granted(selection) == {"a": "open", "b": "open", "d": "open"}
    assert waitlisted(selection) == {"c": "capacity", "e": "capacity"}
    assert selection.gpus_awarded == 24 and selection.objective == 8 * (90 + 85 + 70)


@BOTH
def test_p2_grants_whole_servers_only_and_a_part_of_a_server_is_invalid(method: str) -> None:
    round_ = [a("a", 95, 12), a("b", 90, 0), a("c", 85, 16), a("d", 80, 8)]
    selection = select_round(round_, {"H100": 24}, RoundRules.p2(), method=method)
    assert set(granted(selection)) == {"c", "d"}
    assert waitlisted(selection) == {"a": "invalid", "b": "invalid"}
    assert reason(selection, "a") == "invalid: 12 GPUs is not a whole number of 8-GPU servers"


def test_a_p2_capacity_that_is_not_whole_servers_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        select_round([a("a", 90)], {"H100": 20}, RoundRules.p2())
    assert refused.value.field == "capacity"


@BOTH
def test_p1_takes_1_to_16_gpus_and_refuses_other_sizes(method: str) -> None:
    round_ = [a("a", 95, 17), a("b", 90, 0), a("c", 85, 16), a("d", 80, 1)]
    selection = select_round(round_, {"H100": 100}, RoundRules.p1(), method=method)
    assert granted(selection) == {"c": "open", "d": "open"}
    assert waitlisted(selection) == {"a": "invalid", "b": "invalid"}
    assert reason(selection, "a") == "invalid: 17 GPUs is outside the 1..16 GPUs allowed"


@BOTH
def test_reserve_the_early_career_track_does_not_use_goes_to_general_applicants(method: str) -> None:
    generals = [a(f"g{i}", 90 - i) for i in range(1, 11)]
    selection = select_round([early("e1", 60), *generals], {"H100": 80},
                             RoundRules(whole_servers=True, reserve_share=0.3), method=method)
    assert (selection.reserve_gpus, selection.reserve_gpus_used) == (24, 8)
    assert granted(selection) == {"e1": "reserve"} | {f"g{i}": "open" for i in range(1, 10)}
    assert waitlisted(selection) == {"g10": "capacity"}
    assert selection.gpus_awarded == 80


@BOTH
def test_the_reserve_goes_first_to_early_career_applicants_scored_below_general_ones(method: str) -> None:
    round_ = [early("e1", 50, 4), early("e2", 40, 4), early("e3", 30, 4), *(a(f"g{i}", 90 - i, 4) for i in range(1, 9))]
    selection = select_round(round_, {"H100": 32}, RoundRules(max_gpus=16, reserve_share=0.25), method=method)
    assert (selection.reserve_gpus, selection.reserve_gpus_used) == (8, 8)
    assert granted(selection) == {"e1": "reserve", "e2": "reserve"} | {f"g{i}": "open" for i in range(1, 7)}
    assert waitlisted(selection) == {"g7": "capacity", "g8": "capacity", "e3": "capacity"}
    assert reason(selection, "e2") == "early-career reserve: 8 of 8 reserved GPUs, 4 H100 GPUs at score 40.00"
    assert reason(selection, "e3") == ("capacity: 0 H100 GPUs left after the reserve and higher-ranked selections, "
                                       "4 requested; score 30.00")


@BOTH
def test_an_institution_at_its_cap_waits_while_others_get_the_gpus(method: str) -> None:
    round_ = [a("k1", 95, institution="KAIST"), a("k2", 94, institution="KAIST"), a("snu", 70), a("postech", 60),
              a("yonsei", 50)]
    selection = select_round(round_, {"H100": 32}, RoundRules(whole_servers=True, institution_cap_share=0.25),
                             method=method)
    assert granted(selection) == {"k1": "open", "snu": "open", "postech": "open", "yonsei": "open"}
    assert waitlisted(selection) == {"k2": "institution_cap"}
    assert reason(selection, "k2") == ("institution cap: KAIST already holds 8 of its 8 GPUs, 8 more requested; "
                                       "no H100 GPUs were left to lift the cap for; score 94.00")


@BOTH
def test_the_cap_is_lifted_for_gpus_that_nobody_else_can_use(method: str) -> None:
    round_ = [a("k1", 95, institution="KAIST"), a("k2", 94, institution="KAIST"), a("k3", 93, institution="KAIST"),
              a("snu", 70), a("postech", 60)]
    selection = select_round(round_, {"H100": 48}, RoundRules(whole_servers=True, institution_cap_share=0.25),
                             method=method)
    assert granted(selection) == {"k1": "open", "snu": "open", "postech": "open", "k2": "cap_lifted",
                                  "k3": "cap_lifted"}
    assert reason(selection, "k3") == ("institution cap lifted: 8 H100 GPUs at score 93.00; KAIST holds 8 of its "
                                       "8-GPU cap, but no other waiting applicant fitted the 24 H100 GPUs left")
    assert reason(selection, "snu") == "open competition: 8 H100 GPUs at score 70.00; snu holds 8 of its 8-GPU cap"


def test_the_p2_defaults_reserve_30_percent_and_cap_institutions_at_10_percent_in_whole_servers() -> None:
    p2 = RoundRules.p2()
    assert (p2.reserve_gpus(960), p2.institution_cap(960)) == (288, 96)
    assert (p2.reserve_gpus(1000), p2.institution_cap(1000)) == (296, 96)    # 300 and 100, down to whole servers
    assert p2.institution_cap(40) == 8                                        # never below one server


def test_a_p1_cap_is_never_below_one_largest_grant() -> None:
    assert RoundRules(max_gpus=16, institution_cap_share=0.1).institution_cap(100) == 16
    assert RoundRules.p1().institution_cap(1060) is None and RoundRules.p1().reserve_gpus(1060) == 0


@BOTH
def test_the_input_order_does_not_change_the_selection(method: str) -> None:
    round_ = [a(name, score, gpus, institution=inst, model=model) for name, score, gpus, inst, model in [
        ("a", 80, 8, "KAIST", "H100"), ("b", 80, 16, "KAIST", "H100"), ("c", 75, 8, "SNU", "A100"),
        ("d", 75, 8, "SNU", "H100"), ("e", 70, 24, "POSTECH", "A100"), ("f", 70, 8, "KAIST", "A100")]]
    rules = RoundRules(whole_servers=True, institution_cap_share=0.3)
    expected = select_round(round_, {"H100": 24, "A100": 16}, rules, method=method).decisions
    for seed in range(5):
        shuffled = random.Random(seed).sample(round_, len(round_))
        assert select_round(shuffled, {"H100": 24, "A100": 16}, rules, method=method).decisions == expected


@BOTH
def test_equal_scores_go_by_submission_order_then_by_application_id(method: str) -> None:
    round_ = [a("late", 80, order=2), a("early", 80, order=1),
              a("y", 70, order=5, application_id=UUID(int=2)), a("x", 70, order=5, application_id=UUID(int=1))]
    selection = select_round(round_, {"H100": 8}, WHOLE_SERVERS, method=method)
    assert set(granted(selection)) == {"early"}
    selection = select_round(round_[2:], {"H100": 8}, WHOLE_SERVERS, method=method)
    assert set(granted(selection)) == {"x"}
    assert [d.rank for d in selection.decisions] == [1, 2]


def test_between_combinations_of_equal_value_the_exact_method_prefers_the_higher_ranked() -> None:
    round_ = [a("a", 80, 4, order=1), a("b", 80, 4, order=2), a("c", 80, 4, order=3), a("d", 80, 8, order=4)]
    selection = select_round(round_, {"H100": 12}, RoundRules.p1(), method="exact")
    assert set(granted(selection)) == {"a", "b", "c"}


def test_the_exact_method_packs_better_than_greedy_rank_order() -> None:
    round_ = [a("a", 90, 9), a("b", 89, 8), a("c", 88, 8)]
    exact = select_round(round_, {"H100": 16}, RoundRules.p1(), method="exact")
    greedy = select_round(round_, {"H100": 16}, RoundRules.p1(), method="heuristic")
    assert (exact.method, granted(exact), waitlisted(exact)) == ("exact", {"b": "open", "c": "open"}, {"a": "score"})
    assert (greedy.method, granted(greedy), waitlisted(greedy)) == (
        "heuristic", {"a": "open"}, {"b": "capacity", "c": "capacity"})
    assert exact.objective == 8 * 89 + 8 * 88 > greedy.objective == 9 * 90
    assert reason(exact, "a") == ("score: 9 H100 GPUs would fit the 16 left after higher-ranked selections, but a "
                                  "combination worth more was chosen; score 90.00, lowest selected H100 score 88.00")
    assert reason(greedy, "b") == "capacity: 7 H100 GPUs left after higher-ranked selections, 8 requested; score 89.00"


def test_the_reserve_stage_is_optimised_first_even_where_that_lowers_the_round_total() -> None:
    round_ = [early("e1", 50, 9, model="A100"), early("e2", 49), early("e3", 48), a("g1", 100, 16)]
    rules, capacity = RoundRules(max_gpus=16, reserve_share=0.64), {"A100": 9, "H100": 16}   # R = 16
    exact = select_round(round_, capacity, rules, method="exact")
    greedy = select_round(round_, capacity, rules, method="heuristic")
    assert granted(exact) == {"e2": "reserve", "e3": "reserve", "e1": "open"}
    assert granted(greedy) == {"e1": "reserve", "g1": "open"}
    assert exact.objective < greedy.objective                 # lexicographic stages, not one total optimum


def test_the_reserve_takes_the_most_reserved_gpus_its_requests_can_use_before_their_scores() -> None:
    """The issue's round: 30 servers, R = 9. Three high scorers worth 8 servers would leave one reserved server to
    open competition; the reserve is filled first instead, then the best score among the fillings of 9."""
    round_ = [early("e1", 90, 24), early("e2", 88, 24), early("e3", 95, 16), early("e4", 60, 24),
              *(a(f"g{i}", 99, 24) for i in range(7))]
    rules, capacity = RoundRules(whole_servers=True, reserve_share=0.30), {"H100": 240}
    fill = select_round(round_, capacity, rules, method="exact")
    assert fill.reserve_gpus == 72 and fill.reserve_gpus_used == 72
    assert {n: b for n, b in granted(fill).items() if n.startswith("e")} == {"e1": "reserve", "e2": "reserve",
                                                                            "e4": "reserve"}
    assert reason(fill, "e4") == "early-career reserve: 72 of 72 reserved GPUs, 24 H100 GPUs at score 60.00"
    assert reason(fill, "e3").startswith("capacity: 0 H100 GPUs left after the reserve and higher-ranked selections")

    scored = select_round(round_, capacity, replace(rules, reserve_objective="score"), method="exact")
    assert scored.reserve_gpus_used == 64                      # the older reading: a reserved server goes to open
    assert {n for n, b in granted(scored).items() if b == "reserve"} == {"e1", "e2", "e3"}


def test_the_reserve_objective_is_one_of_fill_or_score() -> None:
    with pytest.raises(InvalidInput) as refused:
        RoundRules(reserve_objective="most")
    assert refused.value.field == "reserve_objective"


@BOTH
def test_the_reserve_the_cap_kept_from_early_career_waits_for_them_until_the_cap_is_lifted(method: str) -> None:
    """80 GPUs, R = 24, the cap one server. KNU's three early-career servers fit the reserve but the cap admits one;
    the other two servers of the reserve are kept through open competition and go to KNU once the cap is lifted,
    before the general applicants still waiting."""
    round_ = [*(early(f"knu{i}", 60 - i, institution="KNU") for i in range(3)),
              *(a(f"g{i}", 90 - i) for i in range(9))]
    selection = select_round(round_, {"H100": 80}, RoundRules.p2(), method=method)
    assert selection.reserve_gpus == 24 and selection.reserve_gpus_used == 24
    assert {n: b for n, b in granted(selection).items() if n.startswith("knu")} == {
        "knu0": "reserve", "knu1": "reserve_cap_lifted", "knu2": "reserve_cap_lifted"}
    assert sorted(n for n, b in granted(selection).items() if b == "open") == [f"g{i}" for i in range(7)]
    assert waitlisted(selection) == {"g7": "capacity", "g8": "capacity"}
    assert reason(selection, "g7") == ("capacity: 0 H100 GPUs left after the reserve and higher-ranked selections, "
                                       "8 requested; score 83.00")
    assert reason(selection, "knu2") == (
        "early-career reserve, institution cap lifted: 8 H100 GPUs at score 58.00; KNU holds 8 of its 8-GPU cap, "
        "and the 16 reserved GPUs the reserve stage left unused go to early-career requests first")


@BOTH
def test_a_request_the_cap_kept_out_is_told_so_even_when_higher_ranked_capped_requests_took_the_lift(
        method: str) -> None:
    """k3 waits because KAIST is at its cap while GPUs were there for it in open competition; the two servers
    left when the cap is lifted go to KAIST's higher-ranked k2 and SNU's s2. Capacity did not keep k3 out."""
    round_ = [a("k1", 95, institution="KAIST"), a("k2", 94, institution="KAIST"), a("s1", 93, institution="SNU"),
              a("s2", 92, institution="SNU"), a("k3", 91, institution="KAIST"), a("p", 50)]
    selection = select_round(round_, {"H100": 40}, RoundRules(whole_servers=True, institution_cap_share=0.2),
                             method=method)
    assert granted(selection) == {"k1": "open", "s1": "open", "p": "open", "k2": "cap_lifted", "s2": "cap_lifted"}
    assert waitlisted(selection) == {"k3": "institution_cap"}
    assert reason(selection, "k3") == (
        "institution cap: KAIST already holds 8 of its 8 GPUs, 8 more requested; the cap was lifted for the 16 H100 "
        "GPUs left, and higher-ranked requests left 0 of them, too few; score 91.00")


@BOTH
def test_selected_come_first_in_rank_order_then_the_waitlisted_ranked_1_to_n(method: str) -> None:
    round_ = [a("a", 95, 24), a("b", 90), a("c", 85, 12), a("d", 80), a("e", 75)]
    selection = select_round(round_, {"H100": 24}, WHOLE_SERVERS, method=method)
    assert [NAMES[d.application_id] for d in selection.decisions] == ["a", "b", "c", "d", "e"]
    assert [d.selected for d in selection.decisions] == [True, False, False, False, False]
    assert [d.rank for d in selection.decisions] == [1, 2, 3, 4, 5]
    assert reason(selection, "a") == "open competition: 24 H100 GPUs at score 95.00"


def test_a_round_past_its_time_limit_falls_back_to_greedy_and_says_so() -> None:
    round_ = [a("a", 90, 9), a("b", 89, 8), a("c", 88, 8)]
    selection = select_round(round_, {"H100": 16}, RoundRules.p1(), method="exact", time_limit_s=0)
    assert (selection.method, set(granted(selection))) == ("heuristic", {"a"})


def test_auto_solves_exactly_up_to_the_limit_and_greedily_above_it() -> None:
    round_ = [a("a", 90, 9), a("b", 89, 8), a("c", 88, 8)]
    assert select_round(round_, {"H100": 16}, RoundRules.p1(), exact_limit=3).method == "exact"
    assert select_round(round_, {"H100": 16}, RoundRules.p1(), exact_limit=2).method == "heuristic"


def test_an_application_listed_twice_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        select_round([a("a", 90), a("a", 80)], {"H100": 16}, WHOLE_SERVERS)
    assert refused.value.field == "candidates"


def test_an_empty_round_selects_nobody() -> None:
    selection = select_round([], {"H100": 16}, RoundRules.p2())
    assert (selection.decisions, selection.gpus_awarded, selection.objective) == ((), 0, 0.0)
