"""OAuth2 clients in the owning service's schema: create (the secret is returned once), list, revoke, authenticate.

Client management is plumbing of the kit, like the relay: each call is its own short transaction on the engine. A
CSP client is linked to a CSP of the inventory by its id, which must be one the service has heard registered.
"""
from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from servicekit.auth.hashing import dummy_hash, hash_secret, new_client_secret, verify_secret
from servicekit.auth.tables import CredentialTables
from servicekit.auth.tokens import ROLES, Principal

SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5B\x5D-\x7E]+$")  # RFC 6749 §3.3


class InvalidClientRequest(ValueError):
    """A client cannot be created as asked; `field` names the culprit."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field


@dataclass(frozen=True)
class Client:
    client_id: str
    role: str
    subject: str | None
    name: str
    scopes: list[str]
    created_at: datetime
    revoked_at: datetime | None

    def principal(self) -> Principal:
        return Principal.of(self.client_id, self.role, self.subject, self.scopes)


@dataclass(frozen=True)
class NewClient:
    """A client just created: the only moment its secret exists in clear."""

    client: Client
    client_secret: str


def normalized_subject(role: str, subject: str | None) -> str | None:
    """A partner without a subject becomes a new partner; reviewers and CSPs must be named by id; operators are not.

    That a CSP's id is one of the inventory's is checked by the store, which has the registered CSPs."""
    if role not in ROLES:
        raise InvalidClientRequest("role", f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if role == "operator":
        if subject is not None:
            raise InvalidClientRequest("subject", "an operator client acts for the platform and has no subject")
        return None
    if subject is None and role == "partner":
        return str(uuid.uuid4())
    try:
        return str(uuid.UUID(subject or ""))
    except ValueError:
        whose = "the CSP's id in the inventory" if role == "csp" else f"the {role}'s id"
        raise InvalidClientRequest("subject", f"a {role} client needs {whose} (a UUID)") from None


def _checked_scopes(scopes: Sequence[str]) -> list[str]:
    for scope in scopes:
        if not SCOPE_TOKEN.match(scope):
            raise InvalidClientRequest("scopes", f"{scope!r} is not a scope token (no spaces, quotes or \\)")
    return sorted(set(scopes))


class ClientStore:
    def __init__(self, engine: AsyncEngine, tables: CredentialTables) -> None:
        self._engine = engine
        self._table = tables.client
        self._csp = tables.csp

    async def create(self, *, role: str, name: str, subject: str | None = None,
                     scopes: Sequence[str] = ()) -> NewClient:
        subject = normalized_subject(role, subject)
        checked = _checked_scopes(scopes)
        secret = new_client_secret()
        secret_hash = await asyncio.to_thread(hash_secret, secret)  # scrypt would stall the event loop
        client_id = f"{role}-{secrets.token_hex(8)}"
        async with self._engine.begin() as conn:
            if role == "csp" and not await _registered(conn, self._csp, subject):
                raise InvalidClientRequest("subject", f"no CSP with id {subject} is registered in the inventory: "
                                                      "register it (POST /inventory/csps) and use the id it gets")
            row = (await conn.execute(
                self._table.insert().values(client_id=client_id, secret_hash=secret_hash, role=role,
                                            subject=subject, name=name, scopes=checked)
                .returning(*self._public_columns()))).one()
        return NewClient(client=_client(row._mapping), client_secret=secret)

    async def get(self, client_id: str) -> Client | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(*self._public_columns())
                                      .where(self._table.c.client_id == client_id))).first()
        return _client(row._mapping) if row else None

    async def find(self, *, role: str | None = None, include_revoked: bool = False, after: str | None = None,
                   limit: int = 50) -> list[Client]:
        """Ordered by client id; `after` is the last id of the previous page."""
        query = select(*self._public_columns()).order_by(self._table.c.client_id).limit(limit)
        if role is not None:
            query = query.where(self._table.c.role == role)
        if not include_revoked:
            query = query.where(self._table.c.revoked_at.is_(None))
        if after is not None:
            query = query.where(self._table.c.client_id > after)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_client(row._mapping) for row in rows]

    async def revoke(self, client_id: str) -> Client | None:
        """Idempotent: a second revocation keeps the first time."""
        table = self._table
        async with self._engine.begin() as conn:
            row = (await conn.execute(
                table.update().where(table.c.client_id == client_id)
                .values(revoked_at=func.coalesce(table.c.revoked_at, func.now()))
                .returning(*self._public_columns()))).first()
        return _client(row._mapping) if row else None

    async def authenticate(self, client_id: str, secret: str) -> Client | None:
        """The client if the secret is its own and it is not revoked; otherwise None, after the same work."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(*self._public_columns(), self._table.c.secret_hash)
                                      .where(self._table.c.client_id == client_id))).first()
            # a CSP client acts for a CSP of the inventory or for no one (one made when a CSP was named by its name)
            linked = row is None or row.role != "csp" or await _registered(conn, self._csp, row.subject)
        stored = row.secret_hash if row else dummy_hash()
        matches = await asyncio.to_thread(verify_secret, secret, stored)
        if row is None or not matches or row.revoked_at is not None or not linked:
            return None
        return _client(row._mapping)

    def _public_columns(self) -> list[Any]:
        return [c for c in self._table.c if c.name != "secret_hash"]


async def _registered(conn: AsyncConnection, csp: Table, subject: str | None) -> bool:
    try:
        csp_id = uuid.UUID(subject or "")
    except ValueError:
        return False
    return bool(await conn.scalar(select(exists().where(csp.c.csp_id == csp_id))))


def _client(row: Any) -> Client:
    return Client(client_id=row["client_id"], role=row["role"], subject=row["subject"], name=row["name"],
                  scopes=list(row["scopes"]), created_at=row["created_at"], revoked_at=row["revoked_at"])
