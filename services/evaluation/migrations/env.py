"""Alembic environment of evaluation: its tables, in the `evaluation` schema, with the version table there too."""
from evaluation.adapters.orm import metadata
from evaluation.config import Settings
from servicekit.migrations import run_env

run_env(metadata, Settings.service_name, default_url=Settings().db.url)
