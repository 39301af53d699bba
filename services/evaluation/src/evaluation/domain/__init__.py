"""Evaluation's domain: eligibility rules, the readiness score and the evaluation record, free of frameworks."""
