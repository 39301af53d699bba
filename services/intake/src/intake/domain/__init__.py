"""Intake's domain: programs and calls, the application forms, applications and their life cycle, free of
frameworks."""
