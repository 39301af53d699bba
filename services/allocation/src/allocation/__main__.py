"""`python -m allocation api|worker|migrate|seed-demo|announce-csps`."""
from pathlib import Path

from allocation import demo
from allocation.bootstrap import bootstrap
from allocation.config import Settings
from allocation.domain.commands import AnnounceCsps
from allocation.entrypoints.api import create_app
from allocation.entrypoints.worker import create_worker
from servicekit import cli

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


async def seed_demo(settings: Settings) -> int:
    """Create the demo CSPs and servers that are missing; running it again changes nothing."""
    runtime = bootstrap(settings)
    try:
        created: int = await runtime.bus.handle(demo.SEED)
    finally:
        await runtime.aclose()
    print(f"seed-demo: {created} CSPs and servers created")
    return created


async def announce_csps(settings: Settings) -> int:
    """Publish every CSP's CspRegistered again (once, after upgrading: CSPs registered before it was published)."""
    runtime = bootstrap(settings)
    try:
        announced: int = await runtime.bus.handle(AnnounceCsps())
    finally:
        await runtime.aclose()
    print(f"announce-csps: {announced} CSPs announced")
    return announced


def main() -> None:
    cli.main(settings_class=Settings, create_app=create_app, create_worker=create_worker,
             migrations_dir=MIGRATIONS, commands={"seed-demo": seed_demo, "announce-csps": announce_csps})


if __name__ == "__main__":
    main()
