"""Conflicts of interest, the order reviewers are picked in, and the load they are picked by, without a database."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from uuid import UUID, uuid4

from evaluation.domain.model import Applicant, CorporateParticipant, Status, Submission
from evaluation.domain.panel import Assignment, Reviewer, choose_panel, conflict, open_load

AT = datetime(2026, 4, 20, tzinfo=UTC)


def application(purpose: str = "fine-tuning a Korean LLM for legal NLP") -> Submission:
    return Submission(
        application_id=uuid4(), program="P2", call_id=uuid4(),
        applicant=Applicant(sector="academia", institution="KAIST", region="Daejeon", name="Dr. Kim Minji"),
        gpus_requested=16, gpu_model="H100", period_start=date(2026, 5, 1), period_end=date(2026, 10, 31),
        planned_gpu_hours_per_month=6000, submitted_at=datetime(2026, 4, 10, tzinfo=UTC), purpose=purpose,
        corporate_participants=(CorporateParticipant("Upstage", "mid"), CorporateParticipant("Naver Cloud", "large")))


def reviewer(name: str, institution: str = "Seoul National University", *expertise: str,
             active: bool = True) -> Reviewer:
    return Reviewer(uuid4(), name, institution, tuple(expertise), active)


def test_a_reviewer_of_the_applicant_s_institution_is_excluded_whatever_the_spelling() -> None:
    assert conflict(reviewer("Prof. Lee", " kaist "), application()) == (
        "same_institution:  kaist  is the applicant's institution")


def test_a_reviewer_from_a_corporate_participant_is_excluded_as_named_on_the_application() -> None:
    reason = conflict(reviewer("Park", "NAVER  cloud"), application())
    assert reason == "named_on_application: NAVER  cloud is named on the application as a corporate participant"


def test_the_applicant_named_as_a_reviewer_is_excluded() -> None:
    reason = conflict(reviewer("Dr. Kim Minji", "POSTECH"), application())
    assert reason == "named_on_application: Dr. Kim Minji is named on the application as the applicant"


def test_a_reviewer_with_no_tie_to_the_application_has_no_conflict() -> None:
    assert conflict(reviewer("Choi", "POSTECH"), application()) is None


def test_conflicted_reviewers_are_never_picked_and_each_exclusion_keeps_its_reason() -> None:
    same, partner = reviewer("A", "KAIST"), reviewer("B", "Upstage")
    clean = [reviewer(name, "POSTECH") for name in ("C", "D", "E")]
    panel = choose_panel(application(), [same, partner, *clean], {}, 3)
    assert [r.name for r in panel.assigned] == ["C", "D", "E"]
    assert [(e.reviewer_id, e.reason.split(":")[0]) for e in panel.excluded] == [
        (same.id, "same_institution"), (partner.id, "named_on_application")]


def test_matching_expertise_comes_first_then_the_least_loaded() -> None:
    busy_expert = reviewer("Busy", "POSTECH", "nlp")
    idle_generalist, idle_expert = reviewer("Idle", "POSTECH", "vision"), reviewer("Zed", "POSTECH", "LLM", "NLP")
    half_busy = reviewer("Half", "POSTECH")
    load = {busy_expert.id: 5, half_busy.id: 1}
    panel = choose_panel(application(), [busy_expert, idle_generalist, half_busy, idle_expert], load, 3)
    # Zed matches two terms, Busy one; then Idle (no open assignment) before Half (one)
    assert [r.name for r in panel.assigned] == ["Zed", "Busy", "Idle"]


def test_expertise_matches_whole_words_only() -> None:
    vision = reviewer("Vision", "POSTECH", "vision")
    nlp = reviewer("Nlp", "POSTECH", "nlp")
    panel = choose_panel(application("a television subtitle model"), [nlp, vision], {}, 1)
    assert [r.name for r in panel.assigned] == ["Nlp"]  # no match for either: name order decides


def test_ties_are_broken_by_name_then_id_so_the_same_pool_gives_the_same_panel() -> None:
    twins = [Reviewer(UUID(int=n), "Same Name", "POSTECH") for n in (3, 1, 2)]
    first = choose_panel(application(), twins, {}, 2)
    again = choose_panel(application(), list(reversed(twins)), {}, 2)
    assert [r.id for r in first.assigned] == [r.id for r in again.assigned] == [UUID(int=1), UUID(int=2)]


def test_inactive_reviewers_are_not_picked() -> None:
    panel = choose_panel(application(), [reviewer("Gone", "POSTECH", active=False), reviewer("Here", "POSTECH")],
                         {}, 1)
    assert [r.name for r in panel.assigned] == ["Here"]


def test_too_few_reviewers_without_a_conflict_assign_nobody_but_still_record_the_exclusions() -> None:
    pool = [reviewer("A", "KAIST"), reviewer("B", "POSTECH"), reviewer("C", "POSTECH")]
    panel = choose_panel(application(), pool, {}, 3)
    assert panel.assigned == []
    assert [e.reviewer_id for e in panel.excluded] == [pool[0].id]


def seat(who: Reviewer, application_id: UUID | None = None, status: Status = Status.IN_REVIEW) -> Assignment:
    """An open assignment of `who` to an application in review (a fresh one unless named)."""
    return Assignment(application_id or uuid4(), who.id, who.name, AT, None, None, "P1", uuid4(), status.value)


def test_a_reviewer_s_load_counts_only_assignments_still_waiting_for_its_review() -> None:
    ahn, baek = reviewer("Ahn", "POSTECH"), reviewer("Baek", "POSTECH")
    waiting = [seat(ahn), seat(ahn), seat(baek)]
    reviewed = replace(seat(baek), scores={"technical_social_impact": 80.0}, reviewed_at=AT)
    ended = replace(seat(ahn), ended_at=AT)  # its application was withdrawn before the review came
    decided = seat(baek, status=Status.ELIGIBLE)  # the round closed without this review
    assert open_load([*waiting, reviewed, ended, decided]) == {ahn.id: 2, baek.id: 1}


def test_a_withdrawal_ends_its_panel_s_assignments_and_lowers_each_member_s_load() -> None:
    ahn, baek, cho = (reviewer(name, "POSTECH") for name in ("Ahn", "Baek", "Cho"))
    withdrawn = uuid4()
    panel = [seat(who, withdrawn) for who in (ahn, baek, cho)]
    other = [seat(ahn), seat(baek)]
    before = open_load([*panel, *other])
    after_ending = open_load([*(replace(a, ended_at=AT) for a in panel), *other])
    after_status = open_load([*(replace(a, status=Status.WITHDRAWN.value) for a in panel), *other])
    assert before == {ahn.id: 2, baek.id: 2, cho.id: 1}
    assert after_ending == after_status == {ahn.id: 1, baek.id: 1}  # Cho has nothing open: no entry, load 0


def test_a_reviewer_freed_by_a_withdrawal_is_picked_before_busier_ones() -> None:
    ahn, baek, cho, dong = (reviewer(name, "POSTECH") for name in ("Ahn", "Baek", "Cho", "Dong"))
    first, second = uuid4(), uuid4()
    open_seats = [*(seat(who, first) for who in (ahn, baek, cho)), *(seat(who, second) for who in (ahn, baek, dong))]
    busy = choose_panel(application(), [ahn, baek, cho, dong], open_load(open_seats), 3)
    freed = open_load(replace(a, ended_at=AT) if a.application_id == first else a for a in open_seats)
    lighter = choose_panel(application(), [ahn, baek, cho, dong], freed, 3)
    assert [r.name for r in busy.assigned] == ["Cho", "Dong", "Ahn"]  # one open each, then Ahn of the two with two
    assert [r.name for r in lighter.assigned] == ["Cho", "Ahn", "Baek"]  # Cho is idle now; Ahn, Baek, Dong have one
