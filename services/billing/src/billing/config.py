"""Billing's settings: BILLING_<SECTION>__<KEY>; every price and share is one, defaulting to PROGRAM_RULES.md."""
from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from billing.domain.model import BillingPolicy, PayerShares
from servicekit.settings import ServiceSettings


class PayerSettings(BaseModel):
    """BILLING_PAYER__*: the applicant's share by program (see domain.model.PayerShares for the youth note)."""

    p1_user_share: Decimal = Field(Decimal("0.30"), ge=0, le=1,
                                   description="SMEs and start-ups pay this share of the CSP market price.")
    p1_youth_discount: Decimal = Field(Decimal("0.50"), ge=0, le=1,
                                       description="Youth companies' discount on the P1 fee.")
    p2_user_share: Decimal = Field(Decimal("0.0"), ge=0, le=1,
                                   description="Academia uses P2 for free; corporate shares come later.")
    p3_user_share: Decimal = Field(Decimal("0.0"), ge=0, le=1, description="Not fixed by the seed.")


class InvoicingSettings(BaseModel):
    """BILLING_INVOICING__*: the clock that invoices accounts whose period has ended."""

    period_s: float = Field(default=60.0, gt=0)
    batch_size: int = Field(default=100, ge=1)


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BILLING_", env_nested_delimiter="__", extra="ignore")
    service_name: ClassVar[str] = "billing"

    default_port: ClassVar[int] = 8005
    default_krw_per_gpu_hour: int = Field(default=4000, gt=0, description="Price of a GPU model with no tariff.")
    payer: PayerSettings = PayerSettings()
    invoicing: InvoicingSettings = InvoicingSettings()

    def policy(self) -> BillingPolicy:
        return BillingPolicy(
            default_krw_per_gpu_hour=self.default_krw_per_gpu_hour,
            shares=PayerShares(p1_user_share=self.payer.p1_user_share,
                               p2_user_share=self.payer.p2_user_share,
                               p3_user_share=self.payer.p3_user_share,
                               p1_youth_discount=self.payer.p1_youth_discount),
        )
