"""Allocation's domain errors; entrypoints/api.py maps each to an HTTP status."""


class AllocationDomainError(Exception):
    field: str | None = None


class NotFound(AllocationDomainError):
    pass


class AllocationNotFound(NotFound):
    pass


class DuplicateName(AllocationDomainError):
    """A CSP or server with this name exists already."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


class AllocationEnded(AllocationDomainError):
    """The allocation was already reclaimed or released."""


class InvalidInput(AllocationDomainError):
    """Input that passed the schema but not the rules; `problems` names the field at fault with the reason."""

    problems: list[tuple[str, str]]

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.problems = [(field, reason)]


class OfferClosed(AllocationDomainError):
    """The offer is not in a state that allows this (answered, expired, or not yet made)."""


class Overlap(AllocationDomainError):
    """A window overlaps another window of the same server."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
