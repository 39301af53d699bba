"""Telemetry: GPU utilization from the CSPs, attributed to allocations, measured against their plans."""
