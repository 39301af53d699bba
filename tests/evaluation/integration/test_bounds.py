"""Input that cannot hurt, at evaluation's door: a control character or an infinite score is a 422 naming the field,
and nothing is stored."""
from __future__ import annotations

import pytest

from support.auth import OPERATOR
from support.stack import Stack

REVIEWER = {"name": "Prof. Park", "institution": "KAIST", "expertise": ["nlp"]}


@pytest.mark.parametrize("field,value,named", [
    ("name", "Prof.\x00Park", "name"),
    ("institution", "KAIST\x07", "institution"),
    ("expertise", ["nlp", "vision\x00"], "expertise.1"),
])
async def test_a_reviewer_with_a_control_character_is_refused_naming_the_field_and_not_stored(
        stack: Stack, field: str, value: object, named: str) -> None:
    async with stack.api("evaluation") as api:
        response = await api.post("/reviewers", json={**REVIEWER, field: value}, headers=OPERATOR)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == [named]
    assert errors[0]["reason"].startswith("must not contain control characters")
    assert await stack.count("evaluation.reviewer") == 0


async def test_a_re_check_dated_in_the_year_9999_is_refused_naming_at(stack: Stack) -> None:
    async with stack.api("evaluation") as api:
        response = await api.post("/evaluations/00000000-0000-4000-8000-000000000000/recheck",
                                  json={"at": "9999-12-31T23:00:00-05:00"}, headers=OPERATOR)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["at"]
