"""The OAuth2 client table, defined once for the service that owns credentials, and its migration helpers; and the
CSPs the inventory has registered, which a CSP client's subject must name (kept from allocation's CspRegistered)."""
from __future__ import annotations

from dataclasses import dataclass

from alembic.operations import Operations
from sqlalchemy import CheckConstraint, Column, DateTime, Index, MetaData, Table, Text, func, text
from sqlalchemy.dialects.postgresql import ARRAY, UUID

from servicekit.auth.tokens import ROLES
from servicekit.db import service_metadata

_ROLE_LIST = ", ".join(f"'{role}'" for role in ROLES)


@dataclass(frozen=True)
class CredentialTables:
    client: Table
    csp: Table


def credential_tables(metadata: MetaData) -> CredentialTables:
    client = Table(
        "client", metadata,
        Column("client_id", Text, primary_key=True),
        Column("secret_hash", Text, nullable=False),
        Column("role", Text, nullable=False),
        Column("subject", Text, comment="partner id, reviewer id or CSP id; none for an operator"),
        Column("name", Text, nullable=False),
        Column("scopes", ARRAY(Text), nullable=False, server_default=text("'{}'")),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("revoked_at", DateTime(timezone=True)),
        CheckConstraint(f"role IN ({_ROLE_LIST})", name="role"),
        CheckConstraint("(role = 'operator') = (subject IS NULL)", name="subject_by_role"),
        Index("ix_client_role_subject", "role", "subject"),
    )
    csp = Table(
        "csp", metadata,
        Column("csp_id", UUID(as_uuid=True), primary_key=True),
        Column("name", Text, nullable=False),
        Column("registered_at", DateTime(timezone=True), nullable=False),
        comment="The inventory's CSPs (allocation's CspRegistered): a csp client's subject is one of these ids",
    )
    return CredentialTables(client=client, csp=csp)


def create_credential_tables(op: Operations, schema: str) -> None:
    """Create the client table in a migration, from the one definition above (the CSP table has its own migration:
    see intake's 0011)."""
    credential_tables(service_metadata(schema)).client.create(op.get_bind())


def drop_credential_tables(op: Operations, schema: str) -> None:
    credential_tables(service_metadata(schema)).client.drop(op.get_bind())
