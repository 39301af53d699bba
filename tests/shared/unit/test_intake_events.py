"""A P2 submission's corporate participants on the wire: each may carry its business registration number and its
part of the project, which billing charges by; older events carry neither and still decode."""
from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

import pytest

from contracts import ApplicationSubmitted, CorporateParticipant, PoisonMessage, from_record, to_record


def a_p2_submission(*participants: CorporateParticipant) -> ApplicationSubmitted:
    return ApplicationSubmitted(
        application_id=uuid.uuid4(), partner_id=uuid.uuid4(), program="P2",
        applicant={"name": "Prof. Lee", "sector": "academia", "institution": "CNU", "region": "Gwangju"},
        gpus_requested=16, servers_requested=2, gpu_model="H200", period_start=date(2027, 1, 1),
        period_end=date(2027, 12, 31), planned_gpu_hours_per_month=8000, purpose="protein structure model",
        corporate_participants=list(participants))


def with_participants(event: ApplicationSubmitted, participants: list[dict[str, Any]]) -> tuple[Any, bytes]:
    """The event's record with its participants replaced, as a producer without our contracts might send them."""
    record = to_record(event, source="/test")
    return record.headers, json.dumps({**json.loads(record.value), "corporate_participants": participants}).encode()


def test_participants_carry_their_registration_number_and_project_share_across_the_wire() -> None:
    event = a_p2_submission(
        CorporateParticipant(name="BioCo", size="mid", business_registration_number="1234567891",
                             project_share_bp=6000),
        CorporateParticipant(name="Naver Cloud", size="large", business_registration_number="2208162517",
                             project_share_bp=4000))
    record = to_record(event, source="/test")
    assert json.loads(record.value)["corporate_participants"][0] == {
        "name": "BioCo", "size": "mid", "business_registration_number": "1234567891", "project_share_bp": 6000}
    assert from_record(record.headers, record.value) == event


def test_participants_of_an_older_event_without_the_fields_decode_with_neither() -> None:
    older = [{"name": "BioCo", "size": "mid"}, {"name": "Naver Cloud", "size": "large"}]
    decoded = from_record(*with_participants(a_p2_submission(), older))
    assert isinstance(decoded, ApplicationSubmitted)
    assert [(p.name, p.business_registration_number, p.project_share_bp) for p in decoded.corporate_participants] \
        == [("BioCo", None, None), ("Naver Cloud", None, None)]


def test_shares_of_the_whole_project_and_of_one_basis_point_are_within_the_bounds() -> None:
    for share in (1, 10_000):
        event = a_p2_submission(CorporateParticipant(name="BioCo", size="mid", project_share_bp=share))
        assert event.corporate_participants[0].project_share_bp == share


@pytest.mark.parametrize("participant,field", [
    ({"name": "BioCo", "size": "mid", "project_share_bp": 0}, "project_share_bp"),
    ({"name": "BioCo", "size": "mid", "project_share_bp": -5}, "project_share_bp"),
    ({"name": "BioCo", "size": "mid", "project_share_bp": 10_001}, "project_share_bp"),
    ({"name": "BioCo", "size": "mid", "business_registration_number": "123-45-67890"},
     "business_registration_number"),
    ({"name": "BioCo", "size": "mid", "business_registration_number": "123456789"}, "business_registration_number"),
], ids=["no-share", "a-negative-share", "more-than-the-whole", "a-number-with-dashes", "nine-digits"])
def test_a_participant_out_of_bounds_is_poison(participant: dict[str, Any], field: str) -> None:
    with pytest.raises(PoisonMessage, match=f"corporate_participants.0.{field}"):
        from_record(*with_participants(a_p2_submission(), [participant]))


@pytest.mark.parametrize("participants,reason", [
    ([{"name": "A", "size": "mid", "project_share_bp": 5000}, {"name": "B", "size": "small"}], "on every one or none"),
    ([{"name": "A", "size": "mid", "project_share_bp": 6000}, {"name": "B", "size": "small", "project_share_bp": 4001}],
     "sum to 10001 basis points"),
    ([{"name": "A", "size": "mid", "business_registration_number": "1234567891"},
      {"name": "B", "size": "small", "business_registration_number": "1234567891"}], "more than one participant"),
], ids=["shares-on-some-only", "shares-beyond-the-whole", "a-registration-number-twice"])
def test_participants_that_disagree_are_poison(participants: list[dict[str, Any]], reason: str) -> None:
    with pytest.raises(PoisonMessage, match=reason):
        from_record(*with_participants(a_p2_submission(), participants))
