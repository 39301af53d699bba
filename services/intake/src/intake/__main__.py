"""`python -m intake api|worker|migrate|bootstrap-operator`."""
from pathlib import Path

from intake.adapters.orm import credentials
from intake.config import Settings
from intake.entrypoints.api import create_app
from intake.entrypoints.worker import create_worker
from servicekit import cli
from servicekit.auth import bootstrap_operator_command

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
# prints the first operator's client id and secret as JSON, once (deploy/local/services.sh keeps them)
COMMANDS = {"bootstrap-operator": bootstrap_operator_command(credentials)}


def main() -> None:
    cli.main(settings_class=Settings, create_app=create_app, create_worker=create_worker,
             migrations_dir=MIGRATIONS, commands=COMMANDS)


if __name__ == "__main__":
    main()
