"""Alembic environment of dashboard: its tables, in the `dashboard` schema, with the version table there too."""
from dashboard.adapters.orm import metadata
from dashboard.config import Settings
from servicekit.migrations import run_env

run_env(metadata, Settings.service_name, default_url=Settings().db.url)
