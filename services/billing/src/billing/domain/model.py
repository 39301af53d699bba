"""Usage accounts, tariffs, payer shares and the charge: integer KRW, Decimal arithmetic, ROUND_HALF_UP.

An account opens when GPUs are allocated and is invoiced exactly once: when they are reclaimed, or when its period ends.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Literal
from uuid import UUID

from billing.domain.errors import AccountAlreadyInvoiced, InvalidTariff

GPU_HOURS_QUANTUM = Decimal("0.000001")  # the scale of the invoice's NUMERIC gpu_hours column
ONE_KRW = Decimal(1)
MICROSECONDS_PER_HOUR = Decimal(3_600_000_000)
ONE_MICROSECOND = timedelta(microseconds=1)
# the support programs: the same literal as contracts.Program, which a domain may not import
ProgramCode = Literal["P1", "P2", "P3"]


class AccountStatus(StrEnum):
    OPEN = "open"
    INVOICED = "invoiced"


@dataclass(frozen=True)
class PayerShares:
    """The applicant's share of the market value, by program; the program pays the rest.

    P1's youth discount halves the fee (`p1_youth_discount`), but whether an applicant is a youth company is not in
    any event yet (intake and allocation would have to carry it to `resource.allocated`): until it is, every P1
    account is billed at the full `p1_user_share`. P2's corporate participants (25% to 7.5%) come later.
    """

    p1_user_share: Decimal
    p2_user_share: Decimal
    p3_user_share: Decimal
    p1_youth_discount: Decimal = Decimal("0.5")

    def for_program(self, program: ProgramCode, *, youth: bool = False) -> Decimal:
        share = {"P1": self.p1_user_share, "P2": self.p2_user_share, "P3": self.p3_user_share}[program]
        if youth and program == "P1":
            return share * (1 - self.p1_youth_discount)
        return share


@dataclass(frozen=True)
class Tariff:
    """The market price of one GPU-hour of a GPU model."""

    gpu_model: str
    krw_per_gpu_hour: int
    updated_at: datetime

    def __post_init__(self) -> None:
        if not self.gpu_model:
            raise InvalidTariff("gpu_model", "must not be empty")
        rate = self.krw_per_gpu_hour
        if isinstance(rate, bool) or not isinstance(rate, int) or rate <= 0:
            raise InvalidTariff("krw_per_gpu_hour", "must be a whole number of KRW greater than 0")


@dataclass(frozen=True)
class BillingPolicy:
    """What the settings decide: the price of a GPU model without a tariff, and who pays which share."""

    default_krw_per_gpu_hour: int
    shares: PayerShares

    def krw_per_gpu_hour(self, tariff: Tariff | None) -> int:
        return tariff.krw_per_gpu_hour if tariff is not None else self.default_krw_per_gpu_hour


@dataclass(frozen=True)
class Charge:
    gpu_hours: Decimal
    market_value_krw: int
    payable_krw: int


def round_krw(amount: Decimal) -> int:
    """Whole KRW, halves rounded up (never the banker's rounding of Python's round())."""
    return int(amount.quantize(ONE_KRW, rounding=ROUND_HALF_UP))


def gpu_hours_between(gpus: int, start: datetime, end: datetime) -> Decimal:
    """GPU-hours of `gpus` GPUs from `start` to `end`, to the micro-GPU-hour; an end before the start gives 0."""
    microseconds = max((end - start) // ONE_MICROSECOND, 0)  # exact integer: no float seconds
    return (Decimal(gpus * microseconds) / MICROSECONDS_PER_HOUR).quantize(GPU_HOURS_QUANTUM, ROUND_HALF_UP)


def charge(gpus: int, start: datetime, end: datetime, krw_per_gpu_hour: int, user_share: Decimal) -> Charge:
    """The market value of the GPU-hours and the applicant's share of it.

    Both amounts derive from the rounded gpu_hours the invoice shows, so anyone can recompute them from it.
    """
    gpu_hours = gpu_hours_between(gpus, start, end)
    market_value_krw = round_krw(gpu_hours * krw_per_gpu_hour)
    return Charge(gpu_hours, market_value_krw, round_krw(market_value_krw * user_share))


@dataclass(frozen=True)
class Invoice:
    id: UUID
    allocation_id: UUID
    application_id: UUID
    program: ProgramCode
    period_start: datetime
    period_end: datetime
    gpu_hours: Decimal
    krw_per_gpu_hour: int
    market_value_krw: int
    payable_krw: int
    issued_at: datetime


@dataclass
class Account:
    """One allocation's usage account, priced at the tariff of the day it was allocated."""

    allocation_id: UUID
    application_id: UUID
    program: ProgramCode
    gpu_model: str
    gpus: int
    starts_at: datetime
    ends_at: datetime
    krw_per_gpu_hour: int
    opened_at: datetime
    status: AccountStatus = AccountStatus.OPEN
    closed_at: datetime | None = None

    @property
    def billed_until(self) -> datetime:
        """Reclaiming ends the billed period early; nothing is billed beyond the allocation or before its start."""
        end = self.ends_at if self.closed_at is None else min(self.closed_at, self.ends_at)
        return max(end, self.starts_at)

    def is_due(self, now: datetime) -> bool:
        """An open account whose period has ended waits only for its invoice."""
        return self.status is AccountStatus.OPEN and self.ends_at <= now

    def close(self, at: datetime) -> None:
        """The GPUs were reclaimed at `at`: billing stops there."""
        self._refuse_if_invoiced()
        self.closed_at = at

    def invoice(self, invoice_id: UUID, shares: PayerShares, at: datetime) -> Invoice:
        self._refuse_if_invoiced()
        end = self.billed_until
        due = charge(self.gpus, self.starts_at, end, self.krw_per_gpu_hour, shares.for_program(self.program))
        self.status = AccountStatus.INVOICED
        return Invoice(
            id=invoice_id, allocation_id=self.allocation_id, application_id=self.application_id,
            program=self.program, period_start=self.starts_at, period_end=end, gpu_hours=due.gpu_hours,
            krw_per_gpu_hour=self.krw_per_gpu_hour, market_value_krw=due.market_value_krw,
            payable_krw=due.payable_krw, issued_at=at,
        )

    def _refuse_if_invoiced(self) -> None:
        if self.status is AccountStatus.INVOICED:
            raise AccountAlreadyInvoiced(f"allocation {self.allocation_id} is already invoiced")


@dataclass(frozen=True)
class UsageEntry:
    """GPU-hours telemetry measured over a window: kept for the record, not billed (the allocation is)."""

    id: UUID
    allocation_id: UUID
    application_id: UUID
    window_start: datetime
    window_end: datetime
    gpu_hours: Decimal
    utilization_pct: float
    recorded_at: datetime
