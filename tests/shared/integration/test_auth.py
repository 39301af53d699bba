"""Client credentials on the real PostgreSQL: the token endpoint, client management, bearer-protected routes.

A small app built here mounts the kit on a scratch schema made by the migration helper, as a service would.
"""
from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar

import httpx
import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from fastapi import Depends, FastAPI
from pydantic_settings import SettingsConfigDict
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from servicekit.auth import (
    ClientStore,
    CredentialTables,
    NewClient,
    Principal,
    TokenIssuer,
    TokenVerifier,
    authenticated,
    bootstrap_operator,
    bootstrap_operator_command,
    create_credential_tables,
    credential_tables,
    generate_keypair,
    install_auth,
    require,
    token_router,
)
from servicekit.db import service_metadata
from servicekit.http import install_error_handlers
from servicekit.settings import DbSettings, ServiceSettings
from support.stack import Stack

SCHEMA = "authkit"
ISSUER, AUDIENCE = "gpu-platform/intake", "gpu-platform"
PRIVATE, PUBLIC = generate_keypair()
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class Kit:
    http: httpx.AsyncClient
    engine: AsyncEngine
    tables: CredentialTables
    issuer: TokenIssuer
    verifier: TokenVerifier

    @property
    def store(self) -> ClientStore:
        return ClientStore(self.engine, self.tables)

    async def token(self, client: NewClient, **form: str) -> str:
        response = await self.http.post("/oauth/token", data={"grant_type": "client_credentials", **form},
                                        auth=(client.client.client_id, client.client_secret))
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    async def bearer(self, client: NewClient) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(client)}"}

    async def registered_csp(self, name: str) -> uuid.UUID:
        """A CSP of the inventory, as the owning service keeps them from allocation's CspRegistered."""
        csp_id = uuid.uuid4()
        async with self.engine.begin() as conn:
            await conn.execute(self.tables.csp.insert().values(csp_id=csp_id, name=name,
                                                               registered_at=datetime.now(UTC)))
        return csp_id


def build_app(engine: AsyncEngine, tables: CredentialTables, issuer: TokenIssuer, verifier: TokenVerifier) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app, {})
    install_auth(app, verifier)
    app.include_router(token_router(tables, issuer, engine=lambda _: engine))

    @app.get("/whoami")
    async def whoami(caller: Annotated[Principal, Depends(authenticated)]) -> dict[str, Any]:
        return {"client_id": caller.client_id, "role": caller.role, "subject": caller.subject}

    @app.get("/operator-only", dependencies=[Depends(require("operator"))])
    async def operator_only() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/my-applications")
    async def mine(partner: Annotated[Principal, Depends(require("partner"))]) -> dict[str, str]:
        return {"partner_id": str(partner.partner_id)}

    return app


async def create_scratch_schema(engine: AsyncEngine) -> None:
    def migrate(connection: Any) -> None:
        create_credential_tables(Operations(MigrationContext.configure(connection)), SCHEMA)
        credential_tables(service_metadata(SCHEMA)).csp.create(connection)  # as intake's migration 0011 does

    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{SCHEMA}"'))
        await conn.run_sync(migrate)


@pytest.fixture
async def kit(stack: Stack) -> AsyncIterator[Kit]:
    engine = create_async_engine(stack.infra.sqlalchemy_url(stack.database))
    await create_scratch_schema(engine)
    tables = credential_tables(service_metadata(SCHEMA))
    issuer = TokenIssuer(PRIVATE, issuer=ISSUER, audience=AUDIENCE, ttl_s=900)
    verifier = TokenVerifier([PUBLIC], issuer=ISSUER, audience=AUDIENCE, leeway_s=5)
    app = build_app(engine, tables, issuer, verifier)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://auth") as http:
        yield Kit(http, engine, tables, issuer, verifier)
    await engine.dispose()


async def test_the_bootstrap_operator_creates_a_partner_client_whose_secret_is_shown_once(kit: Kit,
                                                                                         stack: Stack) -> None:
    operator = await bootstrap_operator(kit.engine, kit.tables)
    created = await kit.http.post("/clients", json={"role": "partner", "name": "Portal A"},
                                  headers=await kit.bearer(operator))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["role"] == "partner" and uuid.UUID(body["subject"])  # a new partner, named by a fresh id
    assert len(body["client_secret"]) == 43 and created.headers["cache-control"] == "no-store"
    row = (await stack.fetch(f"SELECT * FROM {SCHEMA}.client WHERE client_id = $1", body["client_id"]))[0]
    assert row["secret_hash"].startswith("scrypt$") and body["client_secret"] not in row["secret_hash"]
    listed = await kit.http.get("/clients", headers=await kit.bearer(operator))
    assert "client_secret" not in json.dumps(listed.json())
    revoked = await kit.http.post(f"/clients/{body['client_id']}/revoke", headers=await kit.bearer(operator))
    assert "client_secret" not in revoked.json()


async def test_a_client_gets_a_token_with_http_basic(kit: Kit) -> None:
    partner = await kit.store.create(role="partner", name="Portal A")
    response = await kit.http.post("/oauth/token", data={"grant_type": "client_credentials"},
                                   auth=(partner.client.client_id, partner.client_secret))
    assert response.status_code == 200
    body = response.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 900)
    assert response.headers["cache-control"] == "no-store" and response.headers["pragma"] == "no-cache"
    caller = kit.verifier.verify(body["access_token"])
    assert (caller.client_id, caller.role, str(caller.partner_id)) == (partner.client.client_id, "partner",
                                                                      partner.client.subject)


async def test_a_client_gets_a_token_with_its_credentials_in_the_form(kit: Kit) -> None:
    naver_cloud = await kit.registered_csp("NaverCloud")
    csp = await kit.store.create(role="csp", name="NaverCloud telemetry", subject=str(naver_cloud))
    response = await kit.http.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": csp.client.client_id,
        "client_secret": csp.client_secret})
    assert response.status_code == 200
    assert kit.verifier.verify(response.json()["access_token"]).csp_id == naver_cloud


async def test_a_csp_client_names_a_registered_csp_by_its_id_or_is_refused_naming_subject(kit: Kit,
                                                                                         stack: Stack) -> None:
    operator = await kit.bearer(await bootstrap_operator(kit.engine, kit.tables))
    kt = await kit.registered_csp("KT")
    refused = [await kit.http.post("/clients", json={"role": "csp", "name": "KT telemetry", "subject": subject},
                                   headers=operator)
               for subject in ("KT", str(uuid.uuid4()))]  # its name; an id no registered CSP has
    created = await kit.http.post("/clients", json={"role": "csp", "name": "KT telemetry", "subject": str(kt)},
                                  headers=operator)
    for response in refused:
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["subject"]
    assert "registered" in refused[1].json()["errors"][0]["reason"]
    assert (created.status_code, created.json()["subject"]) == (201, str(kt))
    assert [r["subject"] for r in await stack.fetch(f"SELECT subject FROM {SCHEMA}.client WHERE role = 'csp'")] == [
        str(kt)]


async def test_a_csp_client_linked_by_name_gets_no_token(kit: Kit) -> None:
    """A client made when a CSP was named by its name (or for an id the inventory no longer has) acts for no CSP:
    no token, as for a wrong secret."""
    linked = await kit.store.create(role="csp", name="Gamma telemetry", subject=str(await kit.registered_csp("g")))
    linked_by_id = await kit.store.authenticate(linked.client.client_id, linked.client_secret) is not None
    async with kit.engine.begin() as conn:
        await conn.execute(text(f"UPDATE {SCHEMA}.client SET subject = 'gamma-cloud' WHERE client_id = :id"),
                           {"id": linked.client.client_id})
    response = await kit.http.post("/oauth/token", data={"grant_type": "client_credentials"},
                                   auth=(linked.client.client_id, linked.client_secret))
    assert linked_by_id and response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_a_wrong_secret_or_an_unknown_client_gets_invalid_client(kit: Kit) -> None:
    partner = await kit.store.create(role="partner", name="Portal A")
    for client_id, secret in [(partner.client.client_id, "not-the-secret"), ("partner-unknown", "whatever"),
                              (partner.client.client_id, "")]:
        response = await kit.http.post("/oauth/token", data={"grant_type": "client_credentials"},
                                       auth=(client_id, secret))
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert response.headers["www-authenticate"].startswith("Basic")
    no_credentials = await kit.http.post("/oauth/token", data={"grant_type": "client_credentials"})
    assert (no_credentials.status_code, no_credentials.json()["error"]) == (401, "invalid_client")


async def test_a_revoked_client_gets_no_token(kit: Kit) -> None:
    operator = await bootstrap_operator(kit.engine, kit.tables)
    partner = await kit.store.create(role="partner", name="Portal A")
    token_before = await kit.token(partner)
    revoked = await kit.http.post(f"/clients/{partner.client.client_id}/revoke", headers=await kit.bearer(operator))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    response = await kit.http.post("/oauth/token", data={"grant_type": "client_credentials"},
                                   auth=(partner.client.client_id, partner.client_secret))
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    # stateless verification: a token issued before the revocation lives out its short TTL
    assert (await kit.http.get("/whoami", headers={"Authorization": f"Bearer {token_before}"})).status_code == 200


async def test_token_requests_outside_the_client_credentials_grant_are_refused_per_rfc_6749(kit: Kit) -> None:
    partner = await kit.store.create(role="partner", name="Portal A")
    basic = (partner.client.client_id, partner.client_secret)
    cases = [
        ({"data": {"grant_type": "password"}}, 400, "unsupported_grant_type"),
        ({"data": {"scope": "x"}}, 400, "invalid_request"),
        ({"json": {"grant_type": "client_credentials"}}, 400, "invalid_request"),
        ({"content": "grant_type=client_credentials&grant_type=client_credentials", "headers": FORM}, 400,
         "invalid_request"),
        ({"data": {"grant_type": "client_credentials", "client_id": partner.client.client_id,
                   "client_secret": partner.client_secret}}, 400, "invalid_request"),  # and Basic: twice
    ]
    for request, status, error in cases:
        response = await kit.http.post("/oauth/token", auth=basic, **request)
        assert (response.status_code, response.json()["error"]) == (status, error), request


async def test_a_token_is_narrowed_to_the_scopes_asked_among_the_client_s_own(kit: Kit) -> None:
    portal = await kit.store.create(role="partner", name="Portal A", scopes=["applications:read", "webhooks"])
    everything = kit.verifier.verify(await kit.token(portal))
    assert everything.scopes == {"applications:read", "webhooks"}
    response = await kit.http.post("/oauth/token", data={"grant_type": "client_credentials",
                                                         "scope": "applications:read"},
                                   auth=(portal.client.client_id, portal.client_secret))
    assert response.json()["scope"] == "applications:read"
    assert kit.verifier.verify(response.json()["access_token"]).scopes == {"applications:read"}
    refused = await kit.http.post("/oauth/token", data={"grant_type": "client_credentials", "scope": "billing"},
                                  auth=(portal.client.client_id, portal.client_secret))
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_scope")


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer "}],
                         ids=["no header", "another scheme", "empty bearer"])
async def test_a_protected_route_without_a_bearer_token_answers_401_naming_authorization(
        kit: Kit, headers: dict[str, str]) -> None:
    response = await kit.http.get("/whoami", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"] == [{"field": "Authorization", "reason": "missing"}]
    assert response.headers["www-authenticate"] == 'Bearer realm="gpu-platform"'


async def test_a_protected_route_with_a_bad_token_answers_401_invalid_token_with_the_reason(kit: Kit) -> None:
    partner = await kit.store.create(role="partner", name="Portal A")
    principal = partner.client.principal()
    stranger_private, _ = generate_keypair()
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    tokens = {
        "malformed": "not-a-jwt",
        "bad_signature": TokenIssuer(stranger_private, issuer=ISSUER, audience=AUDIENCE).issue(principal).token,
        "expired": TokenIssuer(PRIVATE, issuer=ISSUER, audience=AUDIENCE, clock=lambda: an_hour_ago)
        .issue(principal).token,
        "wrong_audience": TokenIssuer(PRIVATE, issuer=ISSUER, audience="elsewhere").issue(principal).token,
    }
    for reason, token in tokens.items():
        response = await kit.http.get("/whoami", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, reason
        assert response.json()["errors"] == [{"field": "Authorization", "reason": reason}]
        assert f'error="invalid_token", error_description="{reason}"' in response.headers["www-authenticate"]


async def test_a_role_not_allowed_gets_403_and_an_allowed_one_200(kit: Kit) -> None:
    partner = await kit.store.create(role="partner", name="Portal A")
    operator = await bootstrap_operator(kit.engine, kit.tables)
    as_partner, as_operator = await kit.bearer(partner), await kit.bearer(operator)
    refused = await kit.http.get("/operator-only", headers=as_partner)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert "operator" in refused.json()["detail"]
    assert (await kit.http.get("/operator-only", headers=as_operator)).json() == {"ok": True}
    assert (await kit.http.get("/my-applications", headers=as_operator)).status_code == 403
    mine = await kit.http.get("/my-applications", headers=as_partner)
    assert mine.json() == {"partner_id": partner.client.subject}


async def test_client_management_is_for_operators_only(kit: Kit, stack: Stack) -> None:
    partner = await kit.store.create(role="partner", name="Portal A")
    as_partner = await kit.bearer(partner)
    for method, path in [("POST", "/clients"), ("GET", "/clients"),
                         ("POST", f"/clients/{partner.client.client_id}/revoke")]:
        body = {"role": "operator", "name": "self-promotion"} if path == "/clients" and method == "POST" else None
        assert (await kit.http.request(method, path, json=body)).status_code == 401
        assert (await kit.http.request(method, path, json=body, headers=as_partner)).status_code == 403
    active = await stack.fetch(f"SELECT role FROM {SCHEMA}.client WHERE revoked_at IS NULL")
    assert [r["role"] for r in active] == ["partner"]


async def test_a_client_that_does_not_fit_its_role_is_refused_naming_the_field(kit: Kit, stack: Stack) -> None:
    operator = await kit.bearer(await bootstrap_operator(kit.engine, kit.tables))
    cases = [
        ({"role": "reviewer", "name": "Prof. Kim"}, "subject"),
        ({"role": "reviewer", "name": "Prof. Kim", "subject": "kim"}, "subject"),
        ({"role": "operator", "name": "Ops", "subject": "x"}, "subject"),
        ({"role": "csp", "name": "KT"}, "subject"),
        ({"role": "admin", "name": "root"}, "role"),
        ({"role": "partner", "name": ""}, "name"),
        ({"role": "partner", "name": "A", "scopes": ["has space"]}, "scopes"),
    ]
    for body, field in cases:
        response = await kit.http.post("/clients", json=body, headers=operator)
        assert response.status_code == 422, body
        assert field in [e["field"] for e in response.json()["errors"]], response.json()
    assert await stack.count(f"{SCHEMA}.client") == 1  # the operator alone


async def test_clients_are_listed_a_page_at_a_time_and_revoked_ones_on_request(kit: Kit) -> None:
    operator = await kit.bearer(await bootstrap_operator(kit.engine, kit.tables))
    partners = [await kit.store.create(role="partner", name=f"Portal {i}") for i in range(3)]
    await kit.store.revoke(partners[0].client.client_id)
    seen: list[str] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"role": "partner", "limit": 1, **({"after": after} if after else {})}
        page = (await kit.http.get("/clients", params=params, headers=operator)).json()
        seen += [c["client_id"] for c in page["items"]]
        after = page["next_cursor"]
        if after is None:
            break
    assert sorted(seen) == sorted(p.client.client_id for p in partners[1:])
    everyone = await kit.http.get("/clients", params={"include_revoked": "true"}, headers=operator)
    assert len(everyone.json()["items"]) == 4
    missing = await kit.http.post("/clients/partner-nobody/revoke", headers=operator)
    assert missing.status_code == 404


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DEMO_", env_nested_delimiter="__", extra="ignore")
    service_name: ClassVar[str] = "demo"


async def test_the_bootstrap_command_prints_an_operator_s_credentials_that_get_a_token(
        kit: Kit, stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    settings = DemoSettings(db=DbSettings(url=stack.infra.sqlalchemy_url(stack.database)))
    await bootstrap_operator_command(kit.tables)(settings)
    printed = json.loads(capsys.readouterr().out)
    basic = base64.b64encode(f"{printed['client_id']}:{printed['client_secret']}".encode()).decode()
    response = await kit.http.post("/oauth/token", content="grant_type=client_credentials",
                                   headers={**FORM, "Authorization": f"Basic {basic}"})
    assert kit.verifier.verify(response.json()["access_token"]).role == "operator"


async def test_the_openapi_document_describes_the_token_endpoint_and_the_bearer_scheme(kit: Kit) -> None:
    document = (await kit.http.get("/openapi.json")).json()
    assert document["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "An access token from the issuer's POST /oauth/token (client credentials)."}
    token = document["paths"]["/oauth/token"]["post"]
    assert "application/x-www-form-urlencoded" in token["requestBody"]["content"]
    assert {"200", "400", "401"} <= set(token["responses"])
    create = document["paths"]["/clients"]["post"]
    assert {"201", "401", "403", "422"} <= set(create["responses"])
    assert create["security"] == [{"bearer": []}]
