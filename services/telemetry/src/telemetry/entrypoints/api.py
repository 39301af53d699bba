"""Telemetry's FastAPI app."""
from __future__ import annotations

from fastapi import FastAPI

from servicekit.runtime import build_api
from telemetry.bootstrap import bootstrap
from telemetry.config import Settings
from telemetry.domain.errors import AllocationNotFound, BatchTooLarge, UnsupportedMediaType
from telemetry.entrypoints.routes import router

DOMAIN_ERRORS = {AllocationNotFound: 404, BatchTooLarge: 413, UnsupportedMediaType: 415}


def create_app(settings: Settings) -> FastAPI:
    return build_api(lambda: bootstrap(settings), title="Telemetry",
                     description="GPU utilization from the CSPs, measured against each allocation's plan.",
                     routers=[router], domain_errors=DOMAIN_ERRORS)
