"""Evaluation: checks each submitted application against its program's eligibility rules and scores it."""
