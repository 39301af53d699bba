"""Alembic environment of intake: its tables, in the `intake` schema, with the version table there too."""
from intake.adapters.orm import metadata
from intake.config import Settings
from servicekit.migrations import run_env

run_env(metadata, Settings.service_name, default_url=Settings().db.url)
