"""Evaluation's domain errors; entrypoints/api.py maps each to an HTTP status."""
from __future__ import annotations


class EvaluationError(Exception):
    field: str | None = None


class NotFound(EvaluationError):
    pass


class EvaluationNotFound(NotFound):
    pass


class PolicyNotFound(NotFound):
    pass


class ReviewerNotFound(NotFound):
    pass


class Forbidden(EvaluationError):
    """The caller may not touch this (a reviewer not on the application's panel); roles are checked at the door."""


class Conflict(EvaluationError):
    """The request contradicts the current state (a second review, a closed round, an existing version)."""


class InvalidInput(EvaluationError):
    """Input that passed the schema but not the domain; `errors` names each field and the reason."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {r}" for f, r in errors))
        self.errors = errors
        self.field = errors[0][0] if errors else None
