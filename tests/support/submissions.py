"""A submission event as intake publishes it, for tests of the services that consume it."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from contracts import Applicant, ApplicationSubmitted, Company


def submitted(program: str = "P1", **overrides: Any) -> ApplicationSubmitted:
    """A youth startup in Busan asking for 8 H100s for half a year (a P1 form; `overrides` for any field)."""
    fields: dict[str, Any] = dict(
        application_id=uuid.uuid4(), partner_id=uuid.uuid4(), program=program, call_id=uuid.uuid4(),
        applicant=Applicant(name="Hong Gildong", sector="industry", institution="Acme AI", region="Busan"),
        company=Company(business_registration_number="1234567891", size="startup", head_office_region="Busan",
                        representative_birth_date=date(1992, 5, 1)),
        gpus_requested=8, gpu_model="H100", period_start=date(2026, 5, 1), period_end=date(2026, 10, 31),
        planned_gpu_hours_per_month=3000, purpose="inference", occurred_at=datetime(2026, 4, 10, tzinfo=UTC))
    fields.update(overrides)
    return ApplicationSubmitted(**fields)
