"""Telemetry's doors: the HTTP API for CSPs and operators, and the worker."""
