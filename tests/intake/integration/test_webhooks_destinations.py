"""Where webhooks may go, on the real database and broker with a real receiver: destinations checked at registration,
and each delivery sent to the address it checked (DNS rebinding cannot redirect it). Names resolve through an
injected resolver in place of DNS: at registration through the API's dependency, at delivery through the job's."""
from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from standardwebhooks.webhooks import Webhook

from intake.adapters.egress import IPAddress, Resolver
from intake.adapters.webhook_delivery import Due, WebhookSettings, deliver_webhooks, send
from intake.domain.webhooks import StatusChange, new_secret
from intake.entrypoints.routes_webhooks import destination_resolver
from servicekit.db import make_engine
from support.services import SERVICES
from support.stack import Stack, eventually

PEM = serialization.Encoding.PEM
PUBLIC = "93.184.215.14"
HOST = "hooks.partner.example"  # a name no real DNS answers: only the injected resolver knows it
FAST = WebhookSettings(first_delay_s=0.1, max_delay_s=1, max_attempts=2, poll_interval_s=0.05, timeout_s=3,
                       allow_http=True)


def resolving(names: dict[str, list[str]]) -> Resolver:
    """A resolver that answers from `names` as it is at the moment of asking, so a test can re-point a name."""

    async def resolve(host: str, port: int) -> list[IPAddress]:
        if host not in names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ipaddress.ip_address(a) for a in names[host]]

    return resolve


@asynccontextmanager
async def intake_api(stack: Stack, resolve: Resolver, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """Intake's real app, as stack.api runs it, with registration resolving hosts through `resolve`."""
    app = SERVICES["intake"].create_app(stack.settings("intake", **overrides))
    app.dependency_overrides[destination_resolver] = lambda: resolve
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://intake") as client:
            yield client


@asynccontextmanager
async def delivering(stack: Stack, settings: WebhookSettings, resolve: Resolver) -> AsyncIterator[None]:
    """The worker's webhook delivery job on the test's database, resolving hosts through `resolve`."""
    engine = make_engine(stack.settings("intake").db)
    stop = asyncio.Event()
    job = asyncio.create_task(deliver_webhooks(engine, settings, resolve=resolve)(stop))
    try:
        yield
    finally:
        stop.set()
        await asyncio.wait_for(job, timeout=10)
        await engine.dispose()


async def the_log(api: httpx.AsyncClient, partner: dict[str, str], hook_id: str, state: str) -> list[Any] | None:
    found = (await api.get(f"/webhooks/{hook_id}/deliveries", headers=partner)).json()["items"]
    return found if found and all(d["state"] == state for d in found) else None


@pytest.mark.parametrize("address,kind", [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("169.254.0.7", "link-local"), ("10.0.0.8", "private"),
    ("192.168.0.9", "private"), ("fd00::1", "unique-local"), ("224.0.0.251", "multicast"), ("240.0.0.1", "reserved"),
    ("0.0.0.0", "unspecified"), ("169.254.169.254", "metadata"), ("fd00:ec2::254", "metadata"),
])
async def test_a_name_that_resolves_to_a_non_public_address_is_refused_at_registration_naming_the_url(
        stack: Stack, partner: dict[str, str], address: str, kind: str) -> None:
    names = {HOST: [PUBLIC, address]}  # one bad address among good ones is enough
    async with intake_api(stack, resolving(names)) as api:
        response = await api.post("/webhooks", json={"url": f"https://{HOST}/hook"}, headers=partner)
    assert response.status_code == 422, response.text
    ((error),) = response.json()["errors"]
    assert error["field"] == "url" and address in error["reason"] and kind in error["reason"]
    assert await stack.count("intake.webhook") == 0


@pytest.mark.parametrize("url,reason", [
    (f"http://{HOST}/hook", "must be an https URL"), ("https://nowhere.example/hook", "cannot resolve nowhere.example"),
    (f"https://partner:pw@{HOST}/hook", "credentials"), ("https://127.0.0.1/hook", "loopback"),
])
async def test_plain_http_an_unknown_name_credentials_and_a_private_literal_are_refused_at_registration(
        stack: Stack, partner: dict[str, str], url: str, reason: str) -> None:
    async with intake_api(stack, resolving({HOST: [PUBLIC]})) as api:
        response = await api.post("/webhooks", json={"url": url}, headers=partner)
    assert response.status_code == 422, response.text
    assert [(e["field"], reason in e["reason"]) for e in response.json()["errors"]] == [("url", True)]
    assert await stack.count("intake.webhook") == 0


async def test_private_networks_may_be_allowed_by_setting_but_never_the_metadata_service(
        stack: Stack, partner: dict[str, str]) -> None:
    allowed = FAST.model_copy(update={"allow_private_networks": True})
    names = {HOST: ["10.0.0.8"], "metadata.partner.example": ["169.254.169.254"]}
    async with intake_api(stack, resolving(names), webhooks=allowed) as api:
        private = await api.post("/webhooks", json={"url": f"https://{HOST}/hook"}, headers=partner)
        metadata = await api.post("/webhooks", json={"url": "http://metadata.partner.example/"}, headers=partner)
    assert (private.status_code, metadata.status_code) == (201, 422)
    assert "metadata" in metadata.json()["errors"][0]["reason"]


async def test_a_delivery_connects_to_the_address_it_checked_and_names_the_host_it_was_registered_with(
        stack: Stack, a_form: Any, partner: dict[str, str], receiver: Any) -> None:
    loopback = FAST.model_copy(update={"allow_private_networks": True})
    resolve = resolving({HOST: ["127.0.0.1"]})
    url = f"http://{HOST}:{receiver.port}/hook"
    async with intake_api(stack, resolve, webhooks=loopback) as api, delivering(stack, loopback, resolve):
        hook = (await api.post("/webhooks", json={"url": url}, headers=partner)).json()
        await api.post("/applications", json=a_form("P3"), headers=partner)
        await eventually(lambda: the_log(api, partner, hook["id"], "delivered"), what="the delivery")
    (request,) = receiver.requests
    assert request.headers["host"] == f"{HOST}:{receiver.port}"
    assert Webhook(hook["secret"]).verify(request.body, request.headers)["status"] == "submitted"


async def test_a_name_repointed_to_a_private_address_after_registration_is_not_delivered_to(
        stack: Stack, a_form: Any, partner: dict[str, str], receiver: Any) -> None:
    names = {HOST: [PUBLIC]}
    async with intake_api(stack, resolving(names), webhooks=FAST) as api:
        hook = await api.post("/webhooks", json={"url": f"http://{HOST}:{receiver.port}/hook"}, headers=partner)
        assert hook.status_code == 201, hook.text
        names[HOST] = ["127.0.0.1"]  # DNS rebinding: the name now leads inside the network
        async with delivering(stack, FAST, resolving(names)):
            await api.post("/applications", json=a_form("P3"), headers=partner)
            (entry,) = await eventually(lambda: the_log(api, partner, hook.json()["id"], "failed"),
                                        what="the refusal")
    assert receiver.requests == []
    assert entry["attempts"] == FAST.max_attempts and entry["last_status_code"] is None
    assert entry["last_error"] == f"refused: {HOST} resolves to 127.0.0.1, a loopback address, not a public one"


def issue_certificate(directory: Path, name: str) -> tuple[Path, Path, Path]:
    """A test CA and a certificate it signs for `name` alone (no address in it): the CA, certificate and key files."""
    def key() -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    def cert(subject: str, public: Any, issuer: str, signer: Any, ca: bool) -> x509.Certificate:
        now = datetime.now(UTC)
        builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)])).public_key(public)
                   .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
                   .not_valid_after(now + timedelta(hours=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key, leaf_key = key(), key()
    files = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    files[0].write_bytes(cert("test CA", ca_key.public_key(), "test CA", ca_key, True).public_bytes(PEM))
    files[1].write_bytes(cert(name, leaf_key.public_key(), "test CA", ca_key, False).public_bytes(PEM))
    files[2].write_bytes(leaf_key.private_bytes(PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    return files


@asynccontextmanager
async def tls_receiver(cert: Path, key: Path) -> AsyncIterator[tuple[int, list[str]]]:
    """An https server on 127.0.0.1 that answers 200 and records each request's Host header."""
    hosts: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        hosts.append(dict(scope["headers"])[b"host"].decode())
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning",
                                           ssl_certfile=str(cert), ssl_keyfile=str(key)))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: asyncio.sleep(0, server.started), what="the https receiver to listen")
    yield server.servers[0].sockets[0].getsockname()[1], hosts
    server.should_exit = True
    await asyncio.wait_for(task, timeout=10)


async def test_over_https_the_certificate_is_checked_against_the_registered_name_not_the_address(
        tmp_path: Path) -> None:
    ca, cert, key = issue_certificate(tmp_path, HOST)
    settings = WebhookSettings(allow_private_networks=True)
    resolve = resolving({HOST: ["127.0.0.1"], "impostor.example": ["127.0.0.1"]})
    change = StatusChange(uuid.uuid4(), uuid.uuid4(), "submitted", "", datetime.now(UTC))
    client = httpx.AsyncClient(verify=ssl.create_default_context(cafile=str(ca)), trust_env=False,
                               limits=httpx.Limits(max_keepalive_connections=0))
    async with tls_receiver(cert, key) as (port, hosts), client:
        named = await send(client, Due(change, f"https://{HOST}:{port}/hook", new_secret(), 0), now, settings,
                           resolve)
        other = await send(client, Due(change, f"https://impostor.example:{port}/hook", new_secret(), 0), now,
                           settings, resolve)
    assert (named.status_code, named.error) == (200, None)
    assert hosts == [f"{HOST}:{port}"]  # the impostor's request never got past the handshake
    assert other.status_code is None and other.error is not None and "CERTIFICATE_VERIFY_FAILED" in other.error


def now() -> datetime:
    return datetime.now(UTC)
