"""`python -m dashboard api|worker|migrate`."""
from pathlib import Path

from dashboard.config import Settings
from dashboard.entrypoints.api import create_app
from dashboard.entrypoints.worker import create_worker
from servicekit import cli

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def main() -> None:
    cli.main(settings_class=Settings, create_app=create_app, create_worker=create_worker,
             migrations_dir=MIGRATIONS)


if __name__ == "__main__":
    main()
