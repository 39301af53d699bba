"""Intake's settings: INTAKE_<SECTION>__<KEY> (e.g. INTAKE_FORMS__MAX_YEARS_AHEAD, INTAKE_WEBHOOKS__MAX_ATTEMPTS,
INTAKE_CALLS__CLOSE_INTERVAL_S, INTAKE_AUTH__PRIVATE_KEY_PEM)."""
from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from intake.adapters.idempotency import IdempotencySettings
from intake.adapters.webhook_delivery import WebhookSettings
from intake.domain.forms import Limits
from servicekit.settings import ServiceSettings


class FormSettings(BaseModel):
    """The numbers the application forms are checked against at the door."""

    server_gpus: int = Field(default=8, ge=1, description="GPUs per server: requests in servers count these.")
    p1_max_gpus: int = Field(default=16, ge=1, description="P1: most GPUs one applicant may request.")
    p1_max_servers: int = Field(default=2, ge=1, description="P1: a request fits on at most this many servers.")
    max_years_ahead: int = Field(default=10, ge=1, le=100, description=(
        "The horizon of planned dates (period_start, period_end, earliest_start): at most this many years from the "
        "day the form arrives."))

    def limits(self) -> Limits:
        return Limits(server_gpus=self.server_gpus, p1_max_gpus=self.p1_max_gpus,
                      p1_max_servers=self.p1_max_servers, max_years_ahead=self.max_years_ahead)


class CallSettings(BaseModel):
    """How the worker keeps the calls' windows."""

    close_interval_s: float = Field(default=60, gt=0, le=3600, description=(
        "How often the worker closes the calls whose closes_at has passed; a call closes at most this long after "
        "its window ends (an operator may still close it earlier)."))


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", env_nested_delimiter="__", extra="ignore")
    service_name: ClassVar[str] = "intake"

    default_port: ClassVar[int] = 8001
    default_fetch_wait_ms: ClassVar[int] = 100  # its worker keeps the partners' view: no decision waits on it
    forms: FormSettings = FormSettings()
    calls: CallSettings = CallSettings()
    idempotency: IdempotencySettings = IdempotencySettings()
    webhooks: WebhookSettings = WebhookSettings()
