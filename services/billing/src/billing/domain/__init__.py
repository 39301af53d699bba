"""Billing's domain: tariffs, payer shares, usage accounts and the charge arithmetic, free of frameworks."""
