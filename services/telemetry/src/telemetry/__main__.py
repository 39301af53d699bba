"""`python -m telemetry api|worker|migrate`."""
from pathlib import Path

from servicekit import cli
from telemetry.config import Settings
from telemetry.entrypoints.api import create_app
from telemetry.entrypoints.worker import create_worker

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def main() -> None:
    cli.main(settings_class=Settings, create_app=create_app, create_worker=create_worker,
             migrations_dir=MIGRATIONS)


if __name__ == "__main__":
    main()
