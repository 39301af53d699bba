"""Intake's settings: INTAKE_<SECTION>__<KEY>."""
from __future__ import annotations

from typing import ClassVar

from pydantic_settings import SettingsConfigDict

from servicekit.settings import HttpSettings, ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", env_nested_delimiter="__", extra="ignore")
    service_name: ClassVar[str] = "intake"

    http: HttpSettings = HttpSettings(port=8001)
