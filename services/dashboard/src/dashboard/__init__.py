"""The operators' dashboard: every event of the platform, read into a model of its own and shown live."""
