"""Billing's doors: the operator HTTP API and the worker (consumer, relay, invoicing clock)."""
