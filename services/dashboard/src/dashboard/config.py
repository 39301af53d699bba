"""The dashboard's settings: DASHBOARD_<SECTION>__<KEY>."""
from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from servicekit.settings import ServiceSettings


class StreamSettings(BaseModel):
    """DASHBOARD_STREAM__*: how the live stream of events is fed to a page."""

    poll_interval_s: float = Field(default=0.5, gt=0, le=60, description="How often the stream looks for new events.")
    keepalive_s: float = Field(default=15.0, gt=0, le=300,
                               description="A comment line this often keeps idle connections (and proxies) open.")
    batch: int = Field(default=200, ge=1, le=10_000, description="Events sent at most per look.")


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DASHBOARD_", env_nested_delimiter="__", extra="ignore")
    service_name: ClassVar[str] = "dashboard"

    default_port: ClassVar[int] = 8006
    stream: StreamSettings = StreamSettings()
