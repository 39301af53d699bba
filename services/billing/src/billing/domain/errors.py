"""Billing's domain errors; entrypoints/api.py maps each to an HTTP status."""


class BillingError(Exception):
    field: str | None = None


class DocumentNotFound(BillingError):
    pass


class ApplicationNotFound(BillingError):
    pass


class NotAProject(BillingError):
    """Only a P2 project has corporate participants whose fees an open-source release waives."""


class ReleaseAlreadyRecorded(BillingError):
    pass


class DocumentStateConflict(BillingError):
    """The document is not in a state the change applies to (e.g. paying a draft, voiding a credit note)."""
