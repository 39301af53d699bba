"""The operator API's request and response bodies; gpu_hours travel as exact decimal strings."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from billing.domain.model import AccountStatus, ProgramCode
from servicekit.bounds import SingleLine

# A GPU-hour above 10 million KRW is a typo, and the column is a 32-bit integer
MAX_KRW_PER_GPU_HOUR = 10_000_000
GpuModel = Annotated[str, Field(min_length=1, max_length=64), SingleLine]


class TariffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    krw_per_gpu_hour: PositiveInt = Field(le=MAX_KRW_PER_GPU_HOUR, description="Market price of one GPU-hour.")


class TariffOut(BaseModel):
    gpu_model: str
    krw_per_gpu_hour: int
    updated_at: datetime


class AccountOut(BaseModel):
    allocation_id: UUID
    application_id: UUID
    program: ProgramCode
    gpu_model: str
    gpus: int
    starts_at: datetime
    ends_at: datetime
    krw_per_gpu_hour: int = Field(description="The tariff when the GPUs were allocated.")
    status: AccountStatus
    opened_at: datetime
    closed_at: datetime | None = Field(description="When the GPUs were reclaimed, if they were.")
    measured_gpu_hours: Decimal = Field(description="GPU-hours telemetry measured so far; informational.")


class InvoiceOut(BaseModel):
    id: UUID
    allocation_id: UUID
    application_id: UUID
    program: ProgramCode
    period_start: datetime
    period_end: datetime
    gpu_hours: Decimal
    krw_per_gpu_hour: int
    market_value_krw: int
    payable_krw: int = Field(description="The applicant's share of the market value.")
    issued_at: datetime
