"""Billing's domain errors; entrypoints/api.py maps each to an HTTP status."""


class BillingError(Exception):
    field: str | None = None


class AccountNotFound(BillingError):
    pass


class InvoiceNotFound(BillingError):
    pass


class AccountAlreadyInvoiced(BillingError):
    """An allocation is invoiced once; a second invoice would bill it twice."""


class InvalidTariff(BillingError):
    """A tariff the schema let through but the rules refuse: `problems` names the field and the reason (a 422)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.problems: list[tuple[str, str]] = [(field, reason)]
