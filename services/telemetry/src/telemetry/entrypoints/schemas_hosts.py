"""A CSP's host mappings: the name its exporter gives a host, and the server it is known as here."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from servicekit.bounds import SingleLine

HostName = Annotated[str, Field(min_length=1, max_length=255), SingleLine]
CspPath = Annotated[UUID, Path(description="The CSP's id in the inventory (allocation's `GET /inventory/csps`), as "
                                          "its access token names it; never its name.")]
HostnamePath = Annotated[HostName, Path(description="The host as the CSP's exporter names it (DCGM's `Hostname` "
                                                    "label).")]


class HostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    server: HostName = Field(description="Our server name: allocation's slots and NDJSON samples name it.",
                             examples=["p3-gov-01"])


class HostOut(BaseModel):
    csp_id: UUID
    hostname: str
    server: str
