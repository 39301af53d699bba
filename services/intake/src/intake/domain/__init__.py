"""Intake's domain: applications and their life cycle, free of frameworks."""
