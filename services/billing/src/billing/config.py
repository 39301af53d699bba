"""Billing's settings: BILLING_<SECTION>__<KEY>; every price and share is one, defaulting to PROGRAM_RULES.md."""
from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import ClassVar

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from billing.domain.ledger import Shares
from billing.domain.model import BillingPolicy
from servicekit.settings import ServiceSettings

Share = Decimal  # a fraction of the market price, 0 to 1, written as a decimal (0.075 = 7.5%)


class PayerSettings(BaseModel):
    """BILLING_PAYER__*: who pays which share of the CSP market price; the government pays the rest."""

    p1_user_share: Share = Field(Decimal("0.30"), ge=0, le=1,
                                 description="SMEs and start-ups pay this share of the market price.")
    p1_youth_discount: Share = Field(Decimal("0.50"), ge=0, le=1,
                                     description="Youth companies' discount on the P1 fee (0.5 halves it).")
    p2_user_share: Share = Field(Decimal("0.0"), ge=0, le=1, description="Academia uses P2 for free.")
    p2_large_share: Share = Field(Decimal("0.25"), ge=0, le=1,
                                  description="A large corporate participant's share, of its part of a P2 project.")
    p2_mid_share: Share = Field(Decimal("0.15"), ge=0, le=1, description="A mid-sized participant's share.")
    p2_small_share: Share = Field(Decimal("0.075"), ge=0, le=1, description="A small participant's share.")
    p3_user_share: Share = Field(Decimal("0.0"), ge=0, le=1, description="Not fixed by the seed.")


class InvoicingSettings(BaseModel):
    """BILLING_INVOICING__*: the round that drafts and issues invoices and credit notes."""

    period_s: float = Field(default=60.0, gt=0, le=86_400)
    review_days: int = Field(default=0, ge=0, le=31,
                             description="Days a draft waits for the operators before it is issued by itself "
                                         "(0: issued in the round that drafts it).")


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BILLING_", env_nested_delimiter="__", extra="ignore")
    service_name: ClassVar[str] = "billing"

    default_port: ClassVar[int] = 8005
    default_fetch_wait_ms: ClassVar[int] = 100  # no decision waits on billing
    default_krw_per_gpu_hour: int = Field(default=4000, gt=0, le=10_000_000,
                                          description="Market price of a GPU-hour where none is set for the CSP "
                                                      "and model.")
    payer: PayerSettings = PayerSettings()
    invoicing: InvoicingSettings = InvoicingSettings()

    def policy(self) -> BillingPolicy:
        p = self.payer
        return BillingPolicy(
            default_krw_per_gpu_hour=self.default_krw_per_gpu_hour,
            shares=Shares(p1_applicant=Fraction(p.p1_user_share), p1_youth_discount=Fraction(p.p1_youth_discount),
                          p2_applicant=Fraction(p.p2_user_share),
                          p2_participant={"large": Fraction(p.p2_large_share), "mid": Fraction(p.p2_mid_share),
                                          "small": Fraction(p.p2_small_share)},
                          p3_applicant=Fraction(p.p3_user_share)),
            review_days=self.invoicing.review_days,
        )
