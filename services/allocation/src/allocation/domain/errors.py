"""Allocation's domain errors; entrypoints/api.py maps each to an HTTP status."""


class AllocationDomainError(Exception):
    field: str | None = None


class NotFound(AllocationDomainError):
    pass


class AllocationNotFound(NotFound):
    pass


class DuplicateName(AllocationDomainError):
    """A CSP or server with this name exists already, or another server has this GPU UUID; `problems` names each
    field at fault with the reason."""

    problems: list[tuple[str, str]]

    def __init__(self, field: str, reason: str, *more: tuple[str, str]) -> None:
        super().__init__(_joined(field, reason, more))
        self.field = field
        self.problems = [(field, reason), *more]


class AllocationEnded(AllocationDomainError):
    """The allocation was already reclaimed or released."""


class InvalidInput(AllocationDomainError):
    """Input that passed the schema but not the rules; `problems` names the field at fault with the reason."""

    problems: list[tuple[str, str]]

    def __init__(self, field: str, reason: str, *more: tuple[str, str]) -> None:
        super().__init__(_joined(field, reason, more))
        self.field = field
        self.problems = [(field, reason), *more]


class OfferClosed(AllocationDomainError):
    """The offer is not in a state that allows this (answered, expired, or not yet made)."""


class Overlap(AllocationDomainError):
    """A window overlaps another window of the same server."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


def _joined(field: str, reason: str, more: tuple[tuple[str, str], ...]) -> str:
    """The message: the reason alone, or with several faults each with its field."""
    if not more:
        return reason
    return "; ".join(f"{f}: {r}" for f, r in ((field, reason), *more))


class NotReplayable(AllocationDomainError):
    """The round cannot be replayed: it is not selected yet, or was selected before its input was kept."""
