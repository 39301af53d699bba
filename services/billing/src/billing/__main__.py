"""`python -m billing api|worker|migrate`."""
from pathlib import Path

from billing.config import Settings
from billing.entrypoints.api import create_app
from billing.entrypoints.worker import create_worker
from servicekit import cli

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def main() -> None:
    cli.main(settings_class=Settings, create_app=create_app, create_worker=create_worker,
             migrations_dir=MIGRATIONS)


if __name__ == "__main__":
    main()
