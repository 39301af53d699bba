"""Allocation's settings: ALLOCATION_<SECTION>__<KEY>."""
from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from servicekit.settings import HttpSettings, ServiceSettings


class InventorySettings(BaseModel):
    server_gpus: int = Field(default=8, ge=1, description="GPUs of a server registered without a count "
                                                          "(PROGRAM_RULES: a server holds 8 GPUs).")


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ALLOCATION_", env_nested_delimiter="__", extra="ignore")
    service_name: ClassVar[str] = "allocation"

    http: HttpSettings = HttpSettings(port=8003)
    inventory: InventorySettings = InventorySettings()
