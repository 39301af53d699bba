"""Evaluation's domain metrics on the real database: applications by program and current status, as a scrape of
/metrics reads them after real evaluations and a panel assigned (docs/observability.md)."""
from __future__ import annotations

from datetime import date
from typing import Any

from contracts import Applicant, ApplicationSubmitted
from evaluation.entrypoints.consumer import evaluate_submitted
from support.auth import OPERATOR
from support.metrics import Samples, scrape, series
from support.stack import Stack, ok
from support.submissions import submitted

APPLICATIONS = "platform_evaluation_applications"
STATUSES = ("awaiting_reviewers", "eligible", "in_review", "rejected", "withdrawn")


def nonzero(samples: Samples) -> dict[tuple[str, str], float]:
    return {(dict(labels)["program"], dict(labels)["status"]): v
            for labels, v in series(samples, APPLICATIONS).items() if v}


async def statuses_of(api: Any, *events: ApplicationSubmitted) -> dict[tuple[str, str], int]:
    """How many of the applications are in each program and status, as the API shows each one."""
    counted: dict[tuple[str, str], int] = {}
    for event in events:
        status = (await ok(api.get(f"/evaluations/{event.application_id}", headers=OPERATOR)))["status"]
        counted[(event.program, status)] = counted.get((event.program, status), 0) + 1
    return counted


async def test_applications_count_by_program_and_status_and_move_when_a_panel_is_assigned(stack: Stack) -> None:
    waiting = submitted()                                  # no reviewer registered yet: it waits for a panel
    rejected = submitted(gpus_requested=40)                # over P1's bound: rejected at once
    scored = submitted("P3", company=None, call_id=None, earliest_start=date(2026, 5, 1), acceptable_window_months=3,
                       applicant=Applicant(name="Dr. Kim", sector="academia", institution="KAIST", region="Daejeon"))
    events = (waiting, rejected, scored)
    async with stack.api("evaluation") as api:
        before = await scrape(api)
        await stack.handle("evaluation", *map(evaluate_submitted, events))
        evaluated = await scrape(api)
        shown = await statuses_of(api, *events)
        for name in ("Ahn", "Baek", "Cho"):  # reviewers enough for a panel: the waiting application gets one
            await ok(api.post("/reviewers", json={"name": name, "institution": "POSTECH"}, headers=OPERATOR), 201)
        reviewed = await scrape(api)
        shown_after = await statuses_of(api, *events)

    assert set(series(before, APPLICATIONS)) == {frozenset({("program", p), ("status", s)})
                                                 for p in ("P1", "P2", "P3") for s in STATUSES}
    assert nonzero(before) == {}
    assert nonzero(evaluated) == shown
    assert shown == {("P1", "awaiting_reviewers"): 1, ("P1", "rejected"): 1, ("P3", "eligible"): 1}
    assert nonzero(reviewed) == shown_after
    assert shown_after == {("P1", "in_review"): 1, ("P1", "rejected"): 1, ("P3", "eligible"): 1}
