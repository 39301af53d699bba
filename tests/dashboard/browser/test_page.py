"""The operators' page in a real browser: Debian's Chromium, driven by Playwright, against every service running as
a real process on the real broker and database.

An operator signs in (the session cookie is out of the script's reach), a partner submits an application through
intake, and the page shows its event live and the funnel move; an operator action (closing a call) goes from a
button through the dashboard to intake; a parked record is re-driven from its button; the page switches to
English. Screenshots are kept in `.local/artifacts/dashboard/`.
"""
from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e.test_journey import p3_application
from playwright.async_api import Browser, Page, async_playwright, expect

from contracts import topics
from support.auth import OPERATOR, bearer
from support.infra import REPO
from support.kafka import produce_raw
from support.stack import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(shutil.which("chromium") is None and not Path(
    "/usr/bin/chromium").exists(), reason="Chromium is installed by `make test` (deploy/local/tools.sh)")]

CHROMIUM = "/usr/bin/chromium"
# as root in a container-like machine; no reaching out to Google's services from a closed network
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = REPO / ".local" / "artifacts" / "dashboard"
PARTNER = bearer("partner", uuid.uuid4())
WAIT_MS = 30_000


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def created(response: httpx.Response) -> Any:
    assert response.status_code == 201, response.text
    return response.json()


async def funnel_applications(page: Page, program: str) -> int:
    """Applications in the page's funnel table of the program's rolling intake, all stages."""
    return int(await page.evaluate("""(program) => {
        const group = document.querySelector(`.funnel-group[data-program="${program}"][data-call=""]`);
        if (!group) return 0;
        return [...group.querySelectorAll("tbody tr")].reduce(
            (sum, row) => sum + Number(row.children[1].textContent.replace(/[^0-9]/g, "")), 0);
    }""", program))


async def test_an_operator_watches_an_application_arrive_live_and_acts_in_korean_and_english(
        services: dict[str, str], browser: Browser, stack: Stack) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    intake, dashboard = services["intake"], services["dashboard"]
    async with httpx.AsyncClient(timeout=10) as http:
        operator = await created(await http.post(f"{intake}/clients", headers=OPERATOR,
                                                 json={"role": "operator", "name": "duty operator"}))
        partner = await created(await http.post(f"{intake}/clients", headers=OPERATOR,
                                                json={"role": "partner", "name": "a partner portal"}))
        call = await created(await http.post(f"{intake}/calls", headers=OPERATOR, json={
            "program": "P1", "title": "2027 1차 공모", "opens_at": datetime.now(UTC).isoformat(),
            "closes_at": (datetime.now(UTC) + timedelta(days=30)).isoformat()}))

        context = await browser.new_context(locale="ko-KR", viewport={"width": 1400, "height": 1000})
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(dashboard)

        # Korean by default; nothing but the sign-in form until an operator signs in
        await expect(page.locator("h1")).to_have_text("GPU 지원사업 운영 대시보드")
        await expect(page.locator("#sign-in")).to_be_visible()
        await expect(page.locator("#board")).to_be_hidden()

        # a partner's credentials are refused
        await page.fill("input[name=client_id]", partner["client_id"])
        await page.fill("input[name=client_secret]", partner["client_secret"])
        await page.click("#sign-in-form button[type=submit]")
        await expect(page.locator("#sign-in-error")).to_contain_text("operators only")
        await expect(page.locator("#board")).to_be_hidden()

        await page.fill("input[name=client_id]", operator["client_id"])
        await page.fill("input[name=client_secret]", operator["client_secret"])
        await page.click("#sign-in-form button[type=submit]")
        await expect(page.locator("#board")).to_be_visible()
        await expect(page.locator("#who")).to_contain_text(operator["client_id"])
        assert "dashboard_session" not in await page.evaluate("document.cookie")  # HttpOnly
        cookie = next(c for c in await context.cookies() if c["name"] == "dashboard_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        await expect(page.locator("#live")).to_have_attribute("data-state", "live", timeout=WAIT_MS)
        assert await funnel_applications(page, "P3") == 0

        # a partner submits through intake: its event appears without a reload, and the funnel moves
        form = p3_application(datetime.now(UTC).date())
        application = await created(await http.post(f"{intake}/applications", json=form, headers=PARTNER))
        submitted = page.locator(f'#event-list li[data-application="{application["id"]}"]'
                                 '[data-type="intake.application_submitted.v1"]')
        await expect(submitted).to_have_count(1, timeout=WAIT_MS)
        await expect(submitted).to_contain_text("신청 접수")
        await page.wait_for_function("""() => {
            const group = document.querySelector('.funnel-group[data-program="P3"][data-call=""]');
            return group && group.textContent.includes("GPU");
        }""", timeout=WAIT_MS)
        assert await funnel_applications(page, "P3") == 1
        # the views follow the events: the demand chart, the balance of what was asked, the waitlist
        await expect(page.locator("#demand-body svg.chart")).to_have_count(1, timeout=WAIT_MS)
        await expect(page.locator("#balance-body")).to_contain_text("비수도권", timeout=WAIT_MS)
        await expect(page.locator("#balance-body")).to_contain_text("GIST")
        waitlist = page.locator("#demand-body tbody tr", has_text="P3")
        await expect(waitlist.locator("td").nth(1)).to_have_text("1", timeout=WAIT_MS)  # waiting: no P3 server

        # the event opens the application's story
        await submitted.click()
        await expect(page.locator("#story")).to_be_visible()
        await expect(page.locator("#story-id")).to_have_text(application["id"])
        await expect(page.locator("#story-events li").first).to_contain_text("신청 접수")
        await page.screenshot(path=str(ARTIFACTS / "story-ko.png"))
        await page.click("#story button")

        # an operator action: the open call is closed from its button, through the dashboard, at intake
        page.on("dialog", lambda dialog: dialog.accept())
        close = page.locator('#calls-body button[data-action="close"]')
        await expect(close).to_have_count(1, timeout=WAIT_MS)
        await close.click()
        await expect(page.locator("#notice")).to_have_text("완료되었습니다.", timeout=WAIT_MS)
        closed = (await http.get(f"{intake}/calls/{call['id']}", headers=OPERATOR)).json()
        assert closed["status"] == "closed"
        await page.screenshot(path=str(ARTIFACTS / "dashboard-ko.png"), full_page=True)

        # a record no consumer can read is parked by each; the page shows the dashboard's own with a re-drive
        # button, which sends it back through the dashboard's API (and marks it re-driven)
        await produce_raw(stack.infra.kafka_bootstrap, stack.topic(topics.APPLICATIONS),
                          b'{"application_id": "not-a-uuid"}', key=b"broken", headers=[
                              ("ce_specversion", b"1.0"), ("ce_id", str(uuid.uuid4()).encode()),
                              ("ce_type", b"intake.application_submitted.v1"),
                              ("ce_time", datetime.now(UTC).isoformat().encode()),
                              ("ce_source", b"/gpu-platform/test")])
        redrive = page.locator('#dead-letters-body button[data-action="redrive"][data-consumer="dashboard"]')
        for _ in range(20):  # the panel refreshes on a timer; a reload is quicker
            await page.reload()
            await expect(page.locator("#board")).to_be_visible()
            if await redrive.count():
                break
            await page.wait_for_timeout(1500)
        place = await redrive.first.get_attribute("data-place")
        await redrive.first.click()
        await expect(page.locator(f'#dead-letters-body [data-place="{place}"][data-redriven="yes"]')).to_have_count(
            1, timeout=WAIT_MS)

        # English, switched in place; numbers and dates follow
        await page.select_option("#lang", "en")
        await expect(page.locator("h1")).to_have_text("GPU Support Programs — Operations")
        assert await page.evaluate("document.documentElement.lang") == "en"
        await expect(submitted).to_contain_text("Application submitted")
        await expect(page.locator("#live")).to_have_text("Live")
        await page.screenshot(path=str(ARTIFACTS / "dashboard-en.png"), full_page=True)

        # the choice is kept across a reload, and the session too
        await page.reload()
        await expect(page.locator("h1")).to_have_text("GPU Support Programs — Operations")
        await expect(page.locator("#board")).to_be_visible()
        assert errors == [], errors
        await context.close()
