"""Telemetry's domain: tracked allocations, their usage and the reclaim ladder, free of frameworks."""
