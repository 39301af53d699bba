"""Telemetry's adapters: tables, repositories and the SQL unit of work."""
