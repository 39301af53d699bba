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
    """Input that passed the schema but not the domain; `problems` names each field and the reason (a 422 that
    names every field, like a schema error)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {r}" for f, r in problems))
        self.problems = problems
        self.field = problems[0][0] if problems else None
