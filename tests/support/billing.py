"""Events billing reads, as their producers would publish them, and billing's own ways in, for billing's tests (times
in Korea)."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from billing.entrypoints.consumer import TRANSLATIONS
from contracts import (
    Applicant,
    ApplicationScored,
    ApplicationSubmitted,
    Company,
    CorporateParticipant,
    Event,
    GpuSlot,
    Researcher,
    ResourceAllocated,
    ResourceReclaimed,
)
from support.auth import OPERATOR
from support.clock import ManualClock
from support.services import SERVICES
from support.stack import Stack

KST = ZoneInfo("Asia/Seoul")
DEC_1 = datetime(2026, 12, 1, tzinfo=KST)
JAN_1 = datetime(2027, 1, 1, tzinfo=KST)
FEB_1 = datetime(2027, 2, 1, tzinfo=KST)
MAR_1 = datetime(2027, 3, 1, tzinfo=KST)


def submitted(program: str, *, partner_id: uuid.UUID | None = None, youth: bool = False,
              participants: list[CorporateParticipant] | None = None) -> ApplicationSubmitted:
    extra: dict[str, Any] = {}
    if program == "P1":
        born = date(1995, 5, 5) if youth else date(1970, 5, 5)
        extra["company"] = Company(business_registration_number="1234567891", size="startup",
                                   head_office_region="Busan", representative_birth_date=born)
        applicant = Applicant(name="Lee", sector="industry", institution="Haedal AI", region="Busan")
    else:
        extra["researcher"] = Researcher(institution_type="university", appointment_date=date(2015, 3, 1),
                                         birth_date=date(1975, 1, 1))
        extra["corporate_participants"] = participants or []
        applicant = Applicant(name="Dr. Kim", sector="academia", institution="KAIST", region="Daejeon")
    return ApplicationSubmitted(
        application_id=uuid.uuid4(), partner_id=partner_id or uuid.uuid4(), program=program,  # type: ignore[arg-type]
        applicant=applicant, gpus_requested=8, gpu_model="H100", period_start=date(2026, 12, 1),
        period_end=date(2027, 2, 28), planned_gpu_hours_per_month=1000, purpose="training", **extra)


def scored(application: ApplicationSubmitted, *, youth: bool) -> ApplicationScored:
    return ApplicationScored(
        application_id=application.application_id, program=application.program, score=80, policy_version="2026.1",
        institution=application.applicant.institution, gpus_requested=8, gpu_model="H100",
        period_start=date(2026, 12, 1), period_end=date(2027, 2, 28), planned_gpu_hours_per_month=1000,
        facts=["youth_company"] if youth else [])


def allocated(application: ApplicationSubmitted, *, gpus: int, start: datetime, end: datetime,
              csps: tuple[str, ...] = ("csp-a",)) -> ResourceAllocated:
    server = uuid.uuid4()
    slots = [GpuSlot(server_id=server, server_name="srv-01", csp=csps[i % len(csps)], gpu_index=i)
             for i in range(gpus)]
    return ResourceAllocated(application_id=application.application_id, allocation_id=uuid.uuid4(),
                             program=application.program, gpu_model="H100", gpus=gpus, slots=slots,
                             starts_at=start, ends_at=end, planned_gpu_hours_per_month=1000)


def reclaimed(grant: ResourceAllocated, at: datetime) -> ResourceReclaimed:
    return ResourceReclaimed(application_id=grant.application_id, allocation_id=grant.allocation_id,
                             gpus=grant.gpus, reason="low_utilization", reclaimed_at=at)


async def consume(stack: Stack, *events: Event, settings: Any = None) -> None:
    """Each event through billing's translation and bus, as its worker would (a fresh message id each time, as a
    redelivery after a lost inbox row would have)."""
    runtime = SERVICES["billing"].bootstrap(settings or stack.settings("billing"), clock=ManualClock(DEC_1))
    try:
        for event in events:
            await runtime.bus.handle(TRANSLATIONS[type(event)](event), message_id=uuid.uuid4(),
                                     message_type=event.type)
    finally:
        await runtime.aclose()


async def run_round(api: httpx.AsyncClient, clock: ManualClock, at: datetime) -> list[dict[str, Any]]:
    """An operator's invoicing round at `at`: the documents it issued."""
    clock.set(at)
    response = await api.post("/invoices/rounds", headers=OPERATOR)
    assert response.status_code == 200, response.text
    return list(response.json())
