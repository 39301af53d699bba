"""The funnel's stages, without a database: which event puts an application where, and that it never moves back."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from dashboard.domain.model import ApplicationView, EventRecord, Stage, unversioned

AT = datetime(2026, 12, 1, tzinfo=UTC)


def an_event(type_name: str, application_id: UUID, *, minutes: int = 0, **payload: Any) -> EventRecord:
    return EventRecord(event_id=uuid4(), type=type_name, topic="t", subject=str(application_id),
                       occurred_at=AT + timedelta(minutes=minutes), payload=payload, application_id=application_id,
                       program=payload.get("program"))


@pytest.mark.parametrize(("type_name", "payload", "stage"), [
    ("intake.application_submitted.v1", {}, Stage.SUBMITTED),
    ("evaluation.application_scored.v1", {}, Stage.SCORED),
    ("evaluation.application_rejected.v1", {}, Stage.REJECTED),
    ("allocation.application_waitlisted.v1", {}, Stage.WAITLISTED),
    ("allocation.offer_made.v1", {}, Stage.SELECTED),
    ("allocation.resource_allocated.v1", {}, Stage.ACTIVE),
    ("intake.application_withdrawn.v1", {}, Stage.WITHDRAWN),
    ("allocation.resource_reclaimed.v1", {"reason": "low_utilization"}, Stage.RECLAIMED),
    ("allocation.resource_reclaimed.v1", {"reason": "withdrawn"}, Stage.WITHDRAWN),
    ("telemetry.telemetry_stale.v1", {}, None),
    ("billing.invoice_issued.v1", {}, None),
])
def test_each_event_puts_its_application_at_its_stage(type_name: str, payload: dict[str, Any],
                                                      stage: Stage | None) -> None:
    assert an_event(type_name, uuid4(), **payload).stage is stage


def test_a_version_suffix_is_not_part_of_the_kind() -> None:
    assert unversioned("intake.application_submitted.v12") == "intake.application_submitted"
    assert unversioned("intake.application_submitted") == "intake.application_submitted"
    assert unversioned("x.vote") == "x.vote"


def test_a_stage_never_moves_back_but_a_late_event_still_adds_its_facts() -> None:
    application_id = uuid4()
    allocated = an_event("allocation.resource_allocated.v1", application_id, minutes=5, gpus=8,
                         ends_at=(AT + timedelta(days=30)).isoformat())
    view = ApplicationView(application_id, Stage.ACTIVE, allocated.occurred_at)
    assert view.follow(allocated)
    late = an_event("intake.application_submitted.v1", application_id, program="P3", gpus_requested=4)
    assert view.follow(late)
    assert (view.stage, view.program, view.gpus) == (Stage.ACTIVE, "P3", 8)  # the GPUs allocated, not requested
    assert not view.follow(late)  # nothing new the second time


def test_an_active_allocation_is_completed_once_its_period_is_over() -> None:
    view = ApplicationView(uuid4(), Stage.ACTIVE, AT, ends_at=AT + timedelta(days=30))
    assert view.stage_at(AT + timedelta(days=29)) is Stage.ACTIVE
    assert view.stage_at(AT + timedelta(days=30)) is Stage.COMPLETED
    assert ApplicationView(uuid4(), Stage.RECLAIMED, AT, ends_at=AT).stage_at(AT + timedelta(days=1)) is Stage.RECLAIMED
