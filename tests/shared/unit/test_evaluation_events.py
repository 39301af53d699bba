"""Evaluation's scored event: what its score was made of travels with it, and older payloads still parse."""
from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from contracts import ApplicationScored

# a P2 payload as evaluation published it before the sector, rubric means and bonuses were added
OLD_PAYLOAD: dict[str, Any] = {
    "id": str(uuid.uuid4()), "type": "evaluation.application_scored.v1", "occurred_at": "2026-11-27T09:30:00Z",
    "application_id": str(uuid.uuid4()), "program": "P2", "call_id": str(uuid.uuid4()), "score": 84.5,
    "policy_version": "2026.1", "track": "early_career", "institution": "PNU", "gpus_requested": 8,
    "gpu_model": "H200", "period_start": "2027-03-01", "period_end": "2027-08-31",
    "planned_gpu_hours_per_month": 3000, "servers_requested": 1, "region": "Busan", "bonus_points": 3,
    "facts": ["early_career", "non_capital_region"],
}
NEW_FIELDS = {"sector": "research_institute", "bonuses": {"non_capital_region": 3.0},
              "rubric_means": {"technical_social_impact": 251 / 3, "ai_ecosystem_contribution": 70.0,
                               "capability_readiness": 90.0}}


def test_an_older_scored_payload_without_the_new_fields_still_parses() -> None:
    event = ApplicationScored.model_validate(OLD_PAYLOAD)
    assert (event.sector, event.rubric_means, event.bonuses, event.facts) == (
        None, {}, {}, ["early_career", "non_capital_region"])


def test_the_new_fields_round_trip_exactly() -> None:
    event = ApplicationScored.model_validate({**OLD_PAYLOAD, **NEW_FIELDS})
    again = ApplicationScored.model_validate_json(event.model_dump_json())
    assert (again.sector, again.bonuses, again.rubric_means) == (
        "research_institute", {"non_capital_region": 3.0}, NEW_FIELDS["rubric_means"])


@pytest.mark.parametrize(("field", "value"), [
    ("sector", "government"),
    ("rubric_means", {"technical_social_impact": 100.5}),
    ("rubric_means", {"originality": 50}),
    ("rubric_means", {"technical_social_impact": float("nan")}),
    ("bonuses", {"early_career": 3}),
    ("bonuses", {"regional_company": -1}),
    ("bonuses", {"youth_company": 101}),
])
def test_the_new_fields_are_bounded(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as refused:
        ApplicationScored.model_validate({**OLD_PAYLOAD, field: value})
    assert refused.value.errors()[0]["loc"][0] == field
