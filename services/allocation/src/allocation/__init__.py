"""Allocation: the CSP and government GPU inventory, and which application holds which GPU when."""
