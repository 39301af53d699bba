"""Allocation's doors: the operator HTTP API and the worker."""
