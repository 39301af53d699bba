"""Events published by intake: an application's arrival and its withdrawal."""
from __future__ import annotations

from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import AfterValidator, Field

from contracts import topics
from contracts.base import Contract, Event
from contracts.bounds import Day, Instant, Line, PositiveInt32, SingleLine, Text
from contracts.events.common import (
    WHOLE_BP,
    BusinessRegistrationNumber,
    CompanySize,
    GpuModel,
    Program,
    Region,
    Sector,
)


class Applicant(Contract):
    name: Line = Field(min_length=1, max_length=1000)
    sector: Sector
    institution: Line = Field(min_length=1, max_length=1000, description="Company or research institution.")
    region: Line = Field(min_length=1, max_length=100, description="Head-office or affiliation region.")


class Company(Contract):
    """A P1 applicant: a small company or an early-stage startup."""

    business_registration_number: Line = Field(pattern=r"^[0-9]{10}$")
    size: Literal["small", "startup"]
    head_office_region: Region
    representative_birth_date: Day


class Researcher(Contract):
    """A P2 lead researcher: early-career means within 7 years of appointment, or 39 or under."""

    institution_type: Literal["university", "research_institute"]
    appointment_date: Day
    birth_date: Day


class CorporateParticipant(Contract):
    """A company taking part in a P2 project: it pays a share of the market price unless results go open source."""

    name: Line = Field(min_length=1, max_length=1000)
    size: CompanySize
    business_registration_number: BusinessRegistrationNumber | None = Field(
        default=None, description="The company's Korean business registration number, 10 digits: the payer billing "
                                  "invoices. Unique within an application; absent when not given (and in older "
                                  "events).")
    project_share_bp: Annotated[int, Field(ge=1, le=WHOLE_BP)] | None = Field(
        default=None, description="The participant's part of the project in basis points, 1 to 10000 (10000 = the "
                                  "whole project). Given on every participant of the application or on none, the "
                                  "shares summing to at most 10000; absent on every participant = billing splits "
                                  "the project equally among the named participants.")


def _participants_agree(participants: list[CorporateParticipant]) -> list[CorporateParticipant]:
    """Project shares on every participant or on none, summing to at most the whole project; each registration
    number once. Participants of older events carry neither, and pass."""
    shares = [p.project_share_bp for p in participants if p.project_share_bp is not None]
    if shares and len(shares) != len(participants):
        raise ValueError("project_share_bp is given on some participants and not on others: on every one or none")
    if sum(shares) > WHOLE_BP:
        raise ValueError(f"the project shares sum to {sum(shares)} basis points, more than the whole ({WHOLE_BP})")
    numbers = [p.business_registration_number for p in participants if p.business_registration_number is not None]
    if len(set(numbers)) != len(numbers):
        raise ValueError("a business_registration_number is given for more than one participant")
    return participants


class ApplicationSubmitted(Event):
    """A partner submitted an application; evaluation takes it from here."""

    type: Literal["intake.application_submitted.v1"] = "intake.application_submitted.v1"
    topic: ClassVar[str] = topics.APPLICATIONS
    application_id: UUID
    partner_id: UUID
    program: Program
    call_id: UUID | None = None
    applicant: Applicant
    gpus_requested: PositiveInt32
    gpu_model: GpuModel
    period_start: Day
    period_end: Day
    planned_gpu_hours_per_month: PositiveInt32
    purpose: Text = Field(max_length=10_000)
    company: Company | None = Field(default=None, description="P1 only.")
    researcher: Researcher | None = Field(default=None, description="P2 only.")
    servers_requested: PositiveInt32 | None = Field(default=None, description="P2: whole servers.")
    corporate_participants: Annotated[list[CorporateParticipant], AfterValidator(_participants_agree)] = Field(
        default_factory=list, max_length=1000, description="P2: the companies taking part.")
    open_source: bool = Field(default=False, description="P2: results released as open source.")
    training_data_scale: Annotated[str, Field(max_length=1000), SingleLine] | None = Field(
        default=None, description="P1: e.g. '200 GB of text'.")
    earliest_start: Day | None = Field(default=None, description="P3: the earliest acceptable start.")
    acceptable_window_months: Annotated[int, Field(ge=1, le=4)] | None = Field(
        default=None, description="P3: a short window of 1-4 months is a valid request.")


class ApplicationWithdrawn(Event):
    """The applicant withdrew; any GPUs it holds are freed."""

    type: Literal["intake.application_withdrawn.v1"] = "intake.application_withdrawn.v1"
    topic: ClassVar[str] = topics.APPLICATIONS
    application_id: UUID
    reason: Text = Field(default="", max_length=10_000)


class CallClosed(Event):
    """A P1/P2 call (round) closed: its applications are handed to evaluation and then allocation."""

    type: Literal["intake.call_closed.v1"] = "intake.call_closed.v1"
    topic: ClassVar[str] = topics.CALLS
    subject_field: ClassVar[str] = "call_id"
    call_id: UUID
    program: Program
    opens_at: Instant
    closes_at: Instant
    application_ids: list[UUID] = Field(description="Every application submitted to the call, not withdrawn.")


class OfferAccepted(Event):
    """The partner accepted an offer of freed capacity."""

    type: Literal["intake.offer_accepted.v1"] = "intake.offer_accepted.v1"
    topic: ClassVar[str] = topics.APPLICATIONS
    application_id: UUID
    offer_id: UUID


class OfferDeclined(Event):
    """The partner declined an offer; the application leaves the waitlist and the capacity goes to the next."""

    type: Literal["intake.offer_declined.v1"] = "intake.offer_declined.v1"
    topic: ClassVar[str] = topics.APPLICATIONS
    application_id: UUID
    offer_id: UUID
    reason: Text = Field(default="", max_length=10_000)
