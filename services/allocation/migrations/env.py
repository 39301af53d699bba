"""Alembic environment of allocation: its tables, in the `allocation` schema, with the version table there too."""
from allocation.adapters.orm import metadata
from allocation.config import Settings
from servicekit.migrations import run_env

run_env(metadata, Settings.service_name, default_url=Settings().db.url)
