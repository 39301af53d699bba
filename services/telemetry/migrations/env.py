"""Alembic environment of telemetry: its tables in the `telemetry` schema, the version table there too."""
from servicekit.migrations import run_env
from telemetry.adapters.orm import metadata
from telemetry.config import Settings

run_env(metadata, Settings.service_name, default_url=Settings().db.url)
