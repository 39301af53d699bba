"""Allocation's settings: ALLOCATION_<SECTION>__<KEY>."""
from __future__ import annotations

from datetime import timedelta
from typing import ClassVar, Literal

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from allocation.domain.policy import Policy
from allocation.domain.selection import RoundRules
from servicekit.settings import ServiceSettings


class InventorySettings(BaseModel):
    server_gpus: int = Field(default=8, ge=1, description="GPUs of a server registered without a count "
                                                          "(PROGRAM_RULES: a server holds 8 GPUs).")


class SelectionSettings(BaseModel):
    """PROGRAM_RULES defaults: P1 grants 1-16 GPUs on at most 2 servers; P2 whole servers, 30% of the resources
    reserved first for early-career researchers, no institution above 10% of the pool while others wait."""

    p1_max_gpus: int = Field(default=16, ge=1)
    p1_max_servers: int = Field(default=2, ge=1)
    p2_reserve_share: float = Field(default=0.30, ge=0, le=1)
    p2_institution_cap_share: float | None = Field(default=0.10, gt=0, le=1)
    p2_reserve_objective: Literal["fill", "score"] = Field(
        default="fill", description="fill: the reserve stage takes the most reserved GPUs early-career requests can "
                                    "use, then the best score among those fillings (the seed's 'reserved first'); "
                                    "score: the most score x GPUs within the reserve, which can leave part of it to "
                                    "open competition.")
    exact_limit: int = Field(default=20_000, ge=0, description="Rounds larger than this use the greedy heuristic.")
    time_limit_s: float = Field(default=60.0, gt=0, description="The exact solver's limit per stage.")
    recheck_at_award: bool = Field(default=True, description="Hold the GPUs of a round's selected applications "
                                                             "and have evaluation re-check their eligibility "
                                                             "before allocating them (PROGRAM_RULES: eligibility "
                                                             "is re-checked at award); off: allocate at once.")


class OfferSettings(BaseModel):
    ttl_hours: float = Field(default=48, gt=0, le=24 * 90, description="How long a partner has to answer an offer.")
    check_interval_s: float = Field(default=30, gt=0, description="How often the worker expires offers.")
    answer_grace_s: float = Field(default=300, ge=0, description="An offer is closed this long after its expiry, so "
                                                                 "that an answer given in time but still in transit "
                                                                 "counts.")
    recheck_timeout_s: float = Field(default=3600, gt=0, description="A hold whose eligibility re-check got no "
                                                                     "answer this long is let go and asked again.")


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ALLOCATION_", env_nested_delimiter="__", extra="ignore")
    service_name: ClassVar[str] = "allocation"

    default_port: ClassVar[int] = 8003
    inventory: InventorySettings = InventorySettings()
    selection: SelectionSettings = SelectionSettings()
    offers: OfferSettings = OfferSettings()

    def policy(self) -> Policy:
        s, gpus = self.selection, self.inventory.server_gpus
        return Policy(
            rules={"P1": RoundRules(max_gpus=s.p1_max_gpus, server_gpus=gpus),
                   "P2": RoundRules(whole_servers=True, server_gpus=gpus, reserve_share=s.p2_reserve_share,
                                    institution_cap_share=s.p2_institution_cap_share,
                                    reserve_objective=s.p2_reserve_objective)},
            max_servers_per_grant={"P1": s.p1_max_servers}, exact_limit=s.exact_limit,
            time_limit_s=s.time_limit_s, offer_ttl=timedelta(hours=self.offers.ttl_hours),
            offer_answer_grace=timedelta(seconds=self.offers.answer_grace_s),
            recheck_timeout=timedelta(seconds=self.offers.recheck_timeout_s), recheck_at_award=s.recheck_at_award)
