"""The dashboard's settings: DASHBOARD_<SECTION>__<KEY>."""
from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from servicekit.settings import ServiceSettings

URL = r"^https?://[^\s]+$"


class StreamSettings(BaseModel):
    """DASHBOARD_STREAM__*: how the live stream of events is fed to a page."""

    poll_interval_s: float = Field(default=0.5, gt=0, le=60, description="How often the stream looks for new events.")
    keepalive_s: float = Field(default=15.0, gt=0, le=300,
                               description="A comment line this often keeps idle connections (and proxies) open.")
    batch: int = Field(default=200, ge=1, le=10_000, description="Events sent at most per look.")


class UpstreamSettings(BaseModel):
    """DASHBOARD_UPSTREAM__*: the owning services' APIs, which the page's sign-in and operator actions call with
    the operator's token (and the supply figures it reads from allocation and telemetry)."""

    intake_url: str = Field(default="http://127.0.0.1:8001", max_length=2000, pattern=URL)
    evaluation_url: str = Field(default="http://127.0.0.1:8002", max_length=2000, pattern=URL)
    allocation_url: str = Field(default="http://127.0.0.1:8003", max_length=2000, pattern=URL)
    telemetry_url: str = Field(default="http://127.0.0.1:8004", max_length=2000, pattern=URL)
    billing_url: str = Field(default="http://127.0.0.1:8005", max_length=2000, pattern=URL)
    dashboard_url: str = Field(default="http://127.0.0.1:8006", max_length=2000, pattern=URL,
                               description="Its own API: a dead letter its worker parked is re-driven there.")
    timeout_s: float = Field(default=10.0, gt=0, le=120)

    def url_of(self, service: str) -> str | None:
        url: str | None = getattr(self, f"{service}_url", None)
        return url.rstrip("/") if url else None


class SessionSettings(BaseModel):
    """DASHBOARD_SESSION__*: the operators' session cookie."""

    cookie_name: str = Field(default="dashboard_session", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    secure_cookie: bool = Field(default=True, description="Send the cookie over HTTPS only: false for plain-HTTP "
                                                          "local runs alone.")


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DASHBOARD_", env_nested_delimiter="__", extra="ignore")
    service_name: ClassVar[str] = "dashboard"

    default_port: ClassVar[int] = 8006
    stream: StreamSettings = StreamSettings()
    upstream: UpstreamSettings = UpstreamSettings()
    session: SessionSettings = SessionSettings()
