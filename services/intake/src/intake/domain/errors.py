"""Intake's domain errors; entrypoints/api.py maps each to an HTTP status."""
from __future__ import annotations

Problem = tuple[str, str]  # (field path, reason), e.g. ("company.head_office_region", "is not a region")


class IntakeError(Exception):
    field: str | None = None


class ApplicationNotFound(IntakeError):
    pass


class CallNotFound(IntakeError):
    pass


class InvalidTransition(IntakeError):
    """The application's or the call's status does not allow this change."""


class OfferClosed(InvalidTransition):
    """There is no offer to answer: none was made, it expired, or it was answered already."""

    field = "offer"


class InvalidInput(IntakeError):
    """Input that breaks one or more rules: every broken rule is named, by field path and reason."""

    def __init__(self, *problems: Problem) -> None:
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in problems))
        self.problems = list(problems)
        self.field = problems[0][0] if problems else None


class WebhookNotFound(IntakeError):
    pass


class TooManyWebhooks(IntakeError):
    """The partner already has as many webhooks as a partner may."""
