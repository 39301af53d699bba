"""Allocation's domain: inventory, placement and the allocation life cycle, free of frameworks."""
