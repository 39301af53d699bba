"""Evaluation's FastAPI app."""
from __future__ import annotations

from fastapi import FastAPI

from evaluation.bootstrap import bootstrap
from evaluation.config import Settings
from evaluation.domain.errors import EvaluationNotFound
from evaluation.entrypoints.routes import router
from servicekit.runtime import build_api

DOMAIN_ERRORS = {EvaluationNotFound: 404}


def create_app(settings: Settings) -> FastAPI:
    return build_api(lambda: bootstrap(settings), title="Evaluation",
                     description="Eligibility, scores and their explanations for submitted applications.",
                     routers=[router], domain_errors=DOMAIN_ERRORS)
