"""Alembic environment of billing: its tables, in the `billing` schema, with the version table there too."""
from billing.adapters.orm import metadata
from billing.config import Settings
from servicekit.migrations import run_env

run_env(metadata, Settings.service_name, default_url=Settings().db.url)
