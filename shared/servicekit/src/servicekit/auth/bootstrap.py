"""The first operator client, created from the command line: `python -m intake bootstrap-operator`."""
from __future__ import annotations

import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from servicekit.auth.store import ClientStore, NewClient
from servicekit.auth.tables import CredentialTables
from servicekit.db import make_engine
from servicekit.settings import ServiceSettings


async def bootstrap_operator(engine: AsyncEngine, tables: CredentialTables, *,
                             name: str = "bootstrap operator") -> NewClient:
    """A new operator client. Running it again makes another one (say, after a lost secret): revoke the old."""
    return await ClientStore(engine, tables).create(role="operator", name=name)


def bootstrap_operator_command(tables: CredentialTables) -> Callable[[ServiceSettings], Coroutine[Any, Any, None]]:
    """A command for `servicekit.cli.main(commands=...)`: prints the client id and secret, once, as JSON."""

    async def command(settings: ServiceSettings) -> None:
        engine = make_engine(settings.db)
        try:
            new = await bootstrap_operator(engine, tables)
        finally:
            await engine.dispose()
        print(json.dumps({"client_id": new.client.client_id, "client_secret": new.client_secret}))
        print("store the secret now: it is not shown again", file=sys.stderr)

    return command
