"""The page's sign-in and what it passes on, against a real intake (the issuer) behind a socket: credentials for an
HttpOnly, SameSite=Strict cookie, operators only; actions by cookie only with the session's CSRF token and from the
page's own origin; only the listed reads and actions reach the owning services, with the operator's token."""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx

from dashboard.config import SessionSettings, UpstreamSettings
from support.auth import OPERATOR, served
from support.infra import free_port
from support.services import SERVICES
from support.stack import Stack

COOKIE = "dashboard_session"


@asynccontextmanager
async def signed_in_page(stack: Stack, *, secure: bool = False) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """The dashboard, its upstream intake a real server; the page's client and intake's URL."""
    intake = SERVICES["intake"].create_app(stack.settings("intake"))
    async with served(intake, free_port()) as intake_url:
        upstream = UpstreamSettings(intake_url=intake_url, allocation_url=intake_url.replace("127.0.0.1", "127.0.0.2"))
        async with stack.api("dashboard", upstream=upstream,
                             session=SessionSettings(secure_cookie=secure)) as page:
            yield page, intake_url


async def client_of(intake_url: str, role: str, **extra: str) -> tuple[str, str]:
    async with httpx.AsyncClient(base_url=intake_url) as intake:
        created = await intake.post("/clients", json={"role": role, "name": f"{role} of the test", **extra},
                                    headers=OPERATOR)
        assert created.status_code == 201, created.text
        body = created.json()
        return body["client_id"], body["client_secret"]


async def test_an_operator_signs_in_for_an_http_only_strict_cookie_and_reads_with_it(stack: Stack) -> None:
    async with signed_in_page(stack) as (page, intake_url):
        assert (await page.get("/events")).status_code == 401
        client_id, secret = await client_of(intake_url, "operator")
        signed = await page.post("/session", json={"client_id": client_id, "client_secret": secret})
        assert signed.status_code == 200, signed.text
        cookie = signed.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert "Secure" not in cookie  # this run's setting: plain HTTP
        session = signed.json()
        assert session["client_id"] == client_id and session["role"] == "operator"
        assert session["csrf_token"] and session["csrf_header"] == "X-CSRF-Token"
        assert datetime.fromisoformat(session["expires_at"]) > datetime.now(UTC) + timedelta(minutes=5)

        assert (await page.get("/events")).status_code == 200  # the cookie alone
        again = await page.get("/session")
        assert again.status_code == 200 and again.json()["csrf_token"] == session["csrf_token"]

        out = await page.delete("/session", headers={"X-CSRF-Token": session["csrf_token"]})
        assert out.status_code == 204
        assert (await page.get("/events")).status_code == 401


async def test_the_cookie_is_secure_by_default(stack: Stack) -> None:
    assert SessionSettings().secure_cookie is True
    async with signed_in_page(stack, secure=True) as (page, intake_url):
        client_id, secret = await client_of(intake_url, "operator")
        signed = await page.post("/session", json={"client_id": client_id, "client_secret": secret})
        assert signed.status_code == 200 and "Secure" in signed.headers["set-cookie"]


async def test_nobody_but_an_operator_gets_a_session(stack: Stack) -> None:
    async with signed_in_page(stack) as (page, intake_url):
        partner_id, partner_secret = await client_of(intake_url, "partner")
        refused = await page.post("/session", json={"client_id": partner_id, "client_secret": partner_secret})
        assert refused.status_code == 403 and "set-cookie" not in refused.headers
        assert refused.json()["errors"] == [{"field": "client_id", "reason": "not_an_operator"}]

        operator_id, _ = await client_of(intake_url, "operator")
        wrong = await page.post("/session", json={"client_id": operator_id, "client_secret": "not-the-secret"})
        assert wrong.status_code == 401 and "set-cookie" not in wrong.headers

        malformed = await page.post("/session", json={"client_id": "a b", "client_secret": ""})
        assert malformed.status_code == 422
        assert {e["field"] for e in malformed.json()["errors"]} == {"client_id", "client_secret"}
        assert (await page.get("/events")).status_code == 401


async def test_an_action_by_cookie_needs_the_csrf_token_and_the_pages_own_origin(stack: Stack) -> None:
    async with signed_in_page(stack) as (page, intake_url):
        client_id, secret = await client_of(intake_url, "operator")
        signed = await page.post("/session", json={"client_id": client_id, "client_secret": secret})
        csrf = signed.json()["csrf_token"]
        async with httpx.AsyncClient(base_url=intake_url) as intake:
            opened = await intake.post("/calls", headers=OPERATOR, json={
                "program": "P1", "title": "2027 round 1", "opens_at": datetime.now(UTC).isoformat(),
                "closes_at": (datetime.now(UTC) + timedelta(days=30)).isoformat()})
            assert opened.status_code == 201, opened.text
            call_id = opened.json()["id"]
        close = f"/actions/intake/calls/{call_id}/close"

        no_token = await page.post(close)
        assert no_token.status_code == 403 and "X-CSRF-Token" in no_token.json()["detail"]
        forged = await page.post(close, headers={"X-CSRF-Token": "x" * 43})
        assert forged.status_code == 403
        other_site = await page.post(close, headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"})
        assert other_site.status_code == 403 and "evil.example" in other_site.json()["detail"]
        async with httpx.AsyncClient(base_url=intake_url) as intake:
            still = await intake.get(f"/calls/{call_id}", headers=OPERATOR)
            assert still.json()["status"] == "open"  # nothing reached intake

        closed = await page.post(close, headers={"X-CSRF-Token": csrf, "Origin": "http://dashboard"})
        assert closed.status_code == 200, closed.text
        assert closed.json()["status"] == "closed" and closed.json()["id"] == call_id

        # intake's own refusal comes back as it was: the call is closed already
        again = await page.post(close, headers={"X-CSRF-Token": csrf})
        assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json")


async def test_only_the_listed_reads_and_actions_pass_and_a_service_down_is_a_502(stack: Stack) -> None:
    async with signed_in_page(stack) as (page, _intake_url):
        listed = await page.get("/upstream/intake/calls", headers=OPERATOR)
        assert listed.status_code == 200 and "items" in listed.json()
        for path in ("/upstream/intake/clients", "/upstream/intake/calls%2F..%2Fclients", "/upstream/billing/invoices"):
            refused = await page.get(path, headers=OPERATOR)
            assert refused.status_code == 404, path
        refused = await page.post("/actions/intake/clients", headers=OPERATOR, json={"role": "operator"})
        assert refused.status_code == 404 and refused.json()["errors"][0]["field"] == "path"
        # allocation's URL answers nothing in this test
        down = await page.post(f"/actions/allocation/allocations/{uuid.uuid4()}/waive", headers=OPERATOR)
        assert down.status_code == 502 and "allocation" in down.json()["detail"]
        partner = await page.get("/upstream/intake/calls", headers={"Authorization": "Bearer nonsense"})
        assert partner.status_code == 401


async def test_the_page_is_served_with_a_strict_content_security_policy(stack: Stack) -> None:
    async with stack.api("dashboard") as page:
        html = await page.get("/")
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in html.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in html.headers["content-security-policy"]
        assert '<html lang="ko">' in html.text and "/static/app.js" in html.text
        script = await page.get("/static/app.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        assert (await page.get("/static/../config.py")).status_code == 404
