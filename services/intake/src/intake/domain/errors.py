"""Intake's domain errors; entrypoints/api.py maps each to an HTTP status."""


class IntakeError(Exception):
    field: str | None = None


class ApplicationNotFound(IntakeError):
    pass


class InvalidTransition(IntakeError):
    """The application's status does not allow this change."""


class InvalidApplication(IntakeError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
