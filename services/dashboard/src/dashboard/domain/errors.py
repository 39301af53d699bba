"""What the dashboard's API refuses, by name."""
from __future__ import annotations


class DashboardError(Exception):
    pass


class ApplicationNotFound(DashboardError):
    """No event of this application has been read."""


class DeadLetterNotFound(DashboardError):
    """No parked record has been read at this place of a dead-letter topic."""
