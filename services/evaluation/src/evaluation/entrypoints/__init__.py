"""Evaluation's doors: the HTTP API and the worker."""
