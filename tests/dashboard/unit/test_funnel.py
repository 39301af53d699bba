"""The funnel's stages, without a database: which event puts an application where, and that it never moves back."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from contracts import CreditNoteIssued, InvoiceIssued, MarketPriceSet
from dashboard.domain.model import ApplicationView, EventRecord, Stage, unversioned
from dashboard.entrypoints.consumer import TRANSLATIONS

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
    ("billing.invoice_issued.v2", {}, None),
    ("billing.credit_note_issued.v1", {}, None),
    ("billing.open_source_release_recorded.v1", {}, None),
])
def test_each_event_puts_its_application_at_its_stage(type_name: str, payload: dict[str, Any],
                                                      stage: Stage | None) -> None:
    assert an_event(type_name, uuid4(), **payload).stage is stage


def test_billing_s_documents_and_prices_are_kept_under_their_subject_without_an_application() -> None:
    document = {"document_id": uuid4(), "number": "INV-2026-000001", "partner_id": uuid4(), "payer_kind": "applicant",
                "payer_name": "Acme AI", "month": date(2026, 11, 1), "total_krw": 9_000,
                "application_ids": [uuid4(), uuid4()], "issued_at": AT}
    events = [InvoiceIssued(**document),
              CreditNoteIssued(**document, credits=["INV-2026-000001"], reason="correction"),
              MarketPriceSet(csp="gov-dc", gpu_model="H100", effective_from=date(2026, 12, 1), krw_per_gpu_hour=5200)]
    records = [TRANSLATIONS[type(e)](e).record for e in events]
    assert [(r.type, r.subject, r.application_id, r.stage) for r in records] == [
        ("billing.invoice_issued.v2", str(document["document_id"]), None, None),
        ("billing.credit_note_issued.v1", str(document["document_id"]), None, None),
        ("billing.market_price_set.v1", "H100", None, None)]


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
