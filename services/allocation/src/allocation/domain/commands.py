"""Allocation's commands: what operators ask, and what other services' events tell it to do."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from allocation.domain.model import ProgramCode


@dataclass(frozen=True)
class RegisterCsp:
    name: str


@dataclass(frozen=True)
class AnnounceCsps:
    """Announce every CSP of the inventory again (CspRegistered): for CSPs registered before it was announced, so
    that intake can link CSP clients to them. Announcing one twice changes nothing downstream."""


@dataclass(frozen=True)
class RegisterServer:
    """A server and its first availability window in `pool` (unbounded unless dates are given), with the UUIDs of
    its GPUs in index order if they are known (one per GPU)."""

    csp: str
    name: str
    region: str
    gpu_model: str
    gpus: int
    pool: ProgramCode
    available_from: date | None = None
    available_until: date | None = None
    gpu_uuids: tuple[str, ...] = ()


@dataclass(frozen=True)
class SetGpuUuids:
    """Replace the UUIDs of a server's GPUs: one per GPU in index order, or none to forget them."""

    server_id: UUID
    gpu_uuids: tuple[str, ...]


@dataclass(frozen=True)
class OpenWindow:
    """The server serves `pool` from `starts_on` to `ends_on` inclusive (an idle window offered to the waitlist)."""

    server_id: UUID
    pool: ProgramCode
    starts_on: date | None
    ends_on: date | None
    note: str = ""


@dataclass(frozen=True)
class EndWindow:
    """Move a window's last day (None: open-ended): earlier only if no allocation holds the server's GPUs after it;
    later only into time no other window of the server covers (and the waitlist is offered what it adds)."""

    server_id: UUID
    window_id: UUID
    ends_on: date | None


@dataclass(frozen=True)
class SeedInventory:
    """Create whatever of these CSPs and servers is missing; existing names are left as they are."""

    csps: tuple[str, ...]
    servers: tuple[RegisterServer, ...]


@dataclass(frozen=True)
class AllocateGpus:
    """Place a scored rolling-intake (P3) application at once, or waitlist it."""

    application_id: UUID
    program: ProgramCode
    score: float
    gpus: int
    gpu_model: str
    period_start: date
    period_end: date
    planned_gpu_hours_per_month: int
    acceptable_window_months: int | None = None


@dataclass(frozen=True)
class AddRoundCandidate:
    """Record a scored P1/P2 application until its round is selected."""

    application_id: UUID
    program: ProgramCode
    call_id: UUID | None
    score: float
    track: str
    institution: str
    gpus: int
    gpu_model: str
    period_start: date
    period_end: date
    planned_gpu_hours_per_month: int = 1
    region_class: str | None = None
    sector: str | None = None
    bonuses: dict[str, float] = field(default_factory=dict, hash=False)
    rubric_means: dict[str, float] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class SelectRound:
    """Every application of the call has a final score or was rejected: choose, place and waitlist."""

    call_id: UUID
    program: ProgramCode
    scored: tuple[UUID, ...]
    rejected: tuple[UUID, ...]
    at: datetime


@dataclass(frozen=True)
class ExcludeApplication:
    """Evaluation rejected the application (at award time, or in the re-check before an offer)."""

    application_id: UUID
    reason: str
    at: datetime
    offer_id: UUID | None = None


@dataclass(frozen=True)
class ConfirmEligibility:
    application_id: UUID
    offer_id: UUID
    at: datetime


@dataclass(frozen=True)
class AcceptOffer:
    application_id: UUID
    offer_id: UUID
    at: datetime


@dataclass(frozen=True)
class DeclineOffer:
    application_id: UUID
    offer_id: UUID
    at: datetime


@dataclass(frozen=True)
class ExpireOffers:
    """Close the open offers that expired by `now`; returns how many."""

    now: datetime


@dataclass(frozen=True)
class WaiveReclaim:
    allocation_id: UUID
    at: datetime


@dataclass(frozen=True)
class WarnAllocation:
    allocation_id: UUID
    at: datetime


@dataclass(frozen=True)
class RecordRecovery:
    """Telemetry saw the allocation's utilization come back above its threshold at `at`."""

    allocation_id: UUID
    at: datetime


@dataclass(frozen=True)
class ReclaimResource:
    """Take an allocation's GPUs back as of `at`.

    From telemetry (`if_active`), an allocation that has already ended is left alone; an operator gets a conflict.
    """

    allocation_id: UUID
    reason: str
    at: datetime
    if_active: bool = False


@dataclass(frozen=True)
class WithdrawApplication:
    """Release the application's GPUs as of `at`, or take it out of the waitlist or its round."""

    application_id: UUID
    at: datetime
