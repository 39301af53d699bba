"""Telemetry's use cases: one handler per command."""
