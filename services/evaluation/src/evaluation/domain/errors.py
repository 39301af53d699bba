"""Evaluation's domain errors; entrypoints/api.py maps each to an HTTP status."""


class EvaluationError(Exception):
    field: str | None = None


class EvaluationNotFound(EvaluationError):
    pass
