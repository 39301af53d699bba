"""The applications API's request and response bodies: one application form per program, told apart by `program`;
offers of freed capacity and their answers. Calls' are in schemas_calls.py, webhooks' in schemas_webhooks.py."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from contracts.events.common import (
    WHOLE_BP,
    BusinessRegistrationNumber,
    CompanySize,
    GpuModel,
    Program,
    Region,
    Sector,
)
from intake.domain.forms import Form
from intake.domain.model import Application, Status
from intake.domain.offers import OfferState
from servicekit.bounds import Day, Line, Name, PositiveInt32, Text

FORM = TypeAdapter(Form)  # and back to plain values: dataclasses.asdict's deep copy costs ten times more


class In(BaseModel):
    """A request body: a field it does not know is refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class Applicant(In):
    name: Name
    sector: Sector
    institution: Name = Field(description="Company or research institution.")
    region: Region = Field(description="Head-office or affiliation region.")


class Company(In):
    """P1: a small company or an early-stage startup."""

    business_registration_number: Line = Field(pattern=r"^[0-9]{10}$", description="10 digits, no dashes.")
    size: Literal["small", "startup"]
    head_office_region: Region
    representative_birth_date: Day = Field(description="Youth company: the representative is 39 or under.")


class Researcher(In):
    """P2: the lead researcher; institution and region are the applicant's."""

    institution_type: Literal["university", "research_institute"]
    appointment_date: Day = Field(description="Early-career: appointed within the last 7 years (or 39 or under).")
    birth_date: Day


class CorporateParticipant(In):
    """P2: a company taking part in the project; unless the results go open source, billing charges it its share
    of the market price by its size, for its part of the project."""

    name: Name
    size: CompanySize
    business_registration_number: BusinessRegistrationNumber | None = Field(
        default=None, description="10 digits, no dashes: the payer billing invoices. Each number once per "
                                  "application.")
    project_share_bp: int | None = Field(
        default=None, ge=1, le=WHOLE_BP,
        description="The participant's part of the project in basis points, 1 to 10000 (10000 = the whole "
                    "project). On every participant or on none, summing to at most 10000; on none, billing splits "
                    "the project equally among the named participants.")


class _Form(In):
    applicant: Applicant
    gpu_model: GpuModel
    period_start: Day
    period_end: Day
    planned_gpu_hours_per_month: PositiveInt32
    purpose: Text = Field(min_length=1, max_length=4000)
    submit: bool = Field(default=True, description=(
        "POST: false stores a draft (not submitted, nothing published); true by default. PUT (editing a draft): "
        "true submits the edited draft at once; false by default."))


class P1Form(_Form):
    """High-performance computing support for small companies and startups: 1 to 16 GPUs, in rounds."""

    program: Literal["P1"]
    call_id: UUID = Field(description="An open P1 call.")
    company: Company
    gpus_requested: PositiveInt32 = Field(description="1 to 16 GPUs, at most 2 servers' worth.")
    training_data_scale: Name = Field(examples=["200 GB of text"])


class P2Form(_Form):
    """AI research computing support for academia and research institutes: whole servers, in rounds."""

    program: Literal["P2"]
    call_id: UUID = Field(description="An open P2 call.")
    researcher: Researcher
    servers_requested: PositiveInt32 = Field(description="Whole servers.")
    gpus_requested: PositiveInt32 | None = Field(default=None, description="Refused: P2 gives whole servers only.")
    open_source: bool = Field(default=False, description="Results released as open source: no corporate fee.")
    corporate_participants: list[CorporateParticipant] = Field(default_factory=list, max_length=100)


class P3Form(_Form):
    """Government-owned GPUs, rolling intake: GPUs or servers for a window of 1 to 4 months."""

    program: Literal["P3"]
    call_id: UUID | None = Field(default=None, description="Refused: P3 takes applications at any time.")
    gpus_requested: PositiveInt32 | None = Field(default=None, description="GPUs, or else servers_requested.")
    servers_requested: PositiveInt32 | None = Field(default=None, description="Whole servers, or else GPUs.")
    earliest_start: Day
    acceptable_window_months: int = Field(ge=1, le=4, description="The period lies within this many months "
                                                                  "from earliest_start.")


ApplicationIn = Annotated[P1Form | P2Form | P3Form, Field(discriminator="program")]


class StatusChange(BaseModel):
    status: Status
    reason: str
    at: datetime


class OfferOut(BaseModel):
    """Freed capacity offered to the waitlisted application; accept or decline it before `expires_at`."""

    id: UUID
    gpu_model: str
    gpus: int
    starts_at: datetime = Field(description="The offered period's start: the GPUs are the application's from then.")
    ends_at: datetime = Field(description="The offered period's end.")
    expires_at: datetime = Field(description="Answer before this; later answers are refused (409) and the offer "
                                             "lapses: the application is declined.")
    made_at: datetime
    state: OfferState = Field(description="open (awaiting the answer), accepted, declined, or expired (unanswered). "
                                          "An open offer past expires_at can no longer be answered.")
    answered_at: datetime | None
    decline_reason: str


class ApplicantOut(BaseModel):
    name: str
    sector: str
    institution: str
    region: str


class ApplicationOut(BaseModel):
    id: UUID
    partner_id: UUID
    program: Program
    call_id: UUID | None
    applicant: ApplicantOut
    gpus_requested: int = Field(description="GPUs asked for; servers counted in GPUs.")
    servers_requested: int | None
    gpu_model: str
    period_start: date
    period_end: date
    planned_gpu_hours_per_month: int
    purpose: str
    company: Company | None
    researcher: Researcher | None
    corporate_participants: list[CorporateParticipant]
    open_source: bool
    training_data_scale: str | None
    earliest_start: date | None
    acceptable_window_months: int | None
    status: Status = Field(description=(
        "draft, submitted, in_review, scored, then selected, waitlisted or rejected; a waitlisted application may "
        "be offered freed capacity (offered), which the partner accepts (accepted, then active once the GPUs are "
        "allocated) or declines (declined, as when the offer expires unanswered); then active, completed, "
        "reclaimed or withdrawn. A status only moves forward."))
    status_reason: str
    created_at: datetime
    submitted_at: datetime | None
    updated_at: datetime | None
    history: list[StatusChange] = []
    offer: OfferOut | None = Field(default=None, description="The latest offer of freed capacity; null if none.")

    @classmethod
    def of(cls, app: Application, history: list[dict[str, Any]] | None = None) -> ApplicationOut:
        return cls.model_validate({
            **FORM.dump_python(app.form), **{k: v for k, v in vars(app).items() if k not in ("form", "offer")},
            "history": history or [], "offer": vars(app.offer) if app.offer is not None else None})


class WithdrawIn(In):
    reason: Text = Field(default="", max_length=2000)


class AcceptOfferIn(In):
    """Accepting takes no fields: send no body, or `{}`."""


class DeclineOfferIn(In):
    reason: Text = Field(default="", max_length=500, description="Why, for the programme's records (optional).")
