"""The chaos test's clients: partners submitting, withdrawing and accepting offers, and a CSP reporting usage, each
retrying as a careful client does (the same Idempotency-Key, Retry-After honoured) while the platform fails."""
from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from support.auth import OPERATOR, bearer

CSP_NAME = "gov-dc"
GPUS = 4
RETRY_FOR_S = 240.0
RETRIED = {408, 409, 425, 429, 500, 502, 503, 504}


@dataclass
class Accepted:
    key: str
    application_id: str
    partner: int


@dataclass
class Load:
    urls: dict[str, str]
    partners: list[dict[str, str]] = field(default_factory=lambda: [bearer("partner") for _ in range(3)])
    csp: dict[str, str] = field(default_factory=lambda: bearer("csp"))  # the test gives its CSP's, by id
    accepted: list[Accepted] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    reported: set[str] = field(default_factory=set)
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def call(self, http: httpx.AsyncClient, method: str, url: str, *, ok: tuple[int, ...],
                   **kwargs: Any) -> httpx.Response:
        """The request until it answers one of `ok`: retried on a dropped connection, 409 in flight, 429 and
        5xx with the same headers (and so the same Idempotency-Key), as long as RETRY_FOR_S allows."""
        deadline = asyncio.get_running_loop().time() + RETRY_FOR_S
        while True:
            try:
                response = await http.request(method, url, **kwargs)
                if response.status_code in ok:
                    return response
                if response.status_code not in RETRIED:
                    raise AssertionError(f"{method} {url}: {response.status_code} {response.text}")
                self.counts[f"answered {response.status_code}"] += 1
                wait = float(response.headers.get("Retry-After", "0.5"))
            except httpx.TransportError:
                self.counts["connection lost"] += 1
                wait = 0.5
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{method} {url} did not go through in {RETRY_FOR_S}s")
            await asyncio.sleep(min(wait, 5.0))

    async def submit(self, http: httpx.AsyncClient, number: int) -> None:
        partner = number % len(self.partners)
        key = str(uuid.uuid4())
        headers = {**self.partners[partner], "Idempotency-Key": key}
        response = await self.call(http, "POST", f"{self.urls['intake']}/applications", ok=(200, 201),
                                   json=p3_application(number), headers=headers)
        self.accepted.append(Accepted(key, response.json()["id"], partner))
        self.counts["accepted"] += 1
        if number % 6 == 5:  # some partners change their minds
            await asyncio.sleep(1.0)
            withdrawn = await self.call(
                http, "POST", f"{self.urls['intake']}/applications/{response.json()['id']}/withdraw",
                ok=(200, 409), json={"reason": "plans changed"},
                headers={**self.partners[partner], "Idempotency-Key": str(uuid.uuid4())})
            self.counts["withdrawn" if withdrawn.status_code == 200 else "withdrawal refused"] += 1

    async def submissions(self, count: int, interval_s: float) -> None:
        async with httpx.AsyncClient(timeout=15) as http:
            tasks = []
            for number in range(count):
                tasks.append(asyncio.create_task(self.submit(http, number)))
                await asyncio.sleep(interval_s)
            await asyncio.gather(*tasks)

    async def csp_reports(self) -> None:
        """Usage of every active allocation, once: every fourth one idle (it is reclaimed), the rest busy."""
        async with httpx.AsyncClient(timeout=15) as http:
            while not self.stop.is_set():
                try:
                    await self._report_once(http)
                except (httpx.TransportError, AssertionError, ValueError):
                    self.counts["report round failed"] += 1
                await _pause(self.stop, 2.0)

    async def _report_once(self, http: httpx.AsyncClient) -> None:
        response = await http.get(f"{self.urls['allocation']}/allocations", params={"status": "active",
                                                                                    "limit": 200}, headers=OPERATOR)
        if response.status_code != 200:
            return
        for allocation in response.json():
            if allocation["id"] in self.reported:
                continue
            idle = len(self.reported) % 4 == 3
            starts_at = datetime.fromisoformat(allocation["starts_at"])
            samples = [{"server": s["server_name"], "gpu_index": s["gpu_index"],
                        "ts": (starts_at + timedelta(minutes=m)).isoformat(),
                        "utilization_pct": 3.0 if idle else 92.0}
                       for s in allocation["slots"] for m in range(1, 61)]
            body = "\n".join(json.dumps(s) for s in samples) + "\n"
            sent = await http.post(f"{self.urls['telemetry']}/samples", content=body,
                                   headers={**self.csp, "Content-Type": "application/x-ndjson"})
            if sent.status_code == 202:
                self.reported.add(allocation["id"])
                self.counts["idle reports" if idle else "busy reports"] += 1

    async def offer_answers(self) -> None:
        """Partners accept what is offered to them."""
        async with httpx.AsyncClient(timeout=15) as http:
            while not self.stop.is_set():
                for partner in self.partners:
                    try:
                        page = await http.get(f"{self.urls['intake']}/applications",
                                              params={"status": "offered", "limit": 100}, headers=partner)
                        offered = page.json()["items"] if page.status_code == 200 else []
                        for application in offered:
                            answer = await http.post(
                                f"{self.urls['intake']}/applications/{application['id']}/offer/accept",
                                headers={**partner, "Idempotency-Key": str(uuid.uuid4())})
                            self.counts[f"offer answer {answer.status_code}"] += 1
                    except httpx.TransportError:
                        self.counts["offer round failed"] += 1
                await _pause(self.stop, 2.0)


def p3_application(number: int) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    return {
        "program": "P3",
        "applicant": {"name": f"Dr. Chaos {number}", "sector": "academia", "institution": f"Institute {number % 7}",
                      "region": "Daejeon"},
        "gpus_requested": GPUS, "gpu_model": "H100", "earliest_start": today.isoformat(),
        "acceptable_window_months": 1, "period_start": today.isoformat(),
        "period_end": (today + timedelta(days=59)).isoformat(),
        "planned_gpu_hours_per_month": 2000, "purpose": "load under failure",
    }


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass
