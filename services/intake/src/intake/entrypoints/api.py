"""Intake's FastAPI app."""
from __future__ import annotations

from fastapi import FastAPI

from intake.bootstrap import bootstrap
from intake.config import Settings
from intake.domain.errors import ApplicationNotFound, InvalidApplication, InvalidTransition
from intake.entrypoints.routes import router
from servicekit.runtime import build_api

DOMAIN_ERRORS = {ApplicationNotFound: 404, InvalidTransition: 409, InvalidApplication: 422}


def create_app(settings: Settings) -> FastAPI:
    return build_api(lambda: bootstrap(settings), title="Intake",
                     description="Applications from partner portals for the GPU support programs.",
                     routers=[router], domain_errors=DOMAIN_ERRORS)
