"""Intake: takes applications from partner portals and tracks each one's status."""
