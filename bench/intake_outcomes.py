"""Intake's worker recording a poll's outcomes: each outcome reading its application alone (the baseline), against
the batch's applications read for update at once first (`lock_applications`), in the same run on the same database.

A batch is what one poll brings at 100/s with intake's 100 ms fetch wait: ten applications scored, then allocated,
twenty outcomes in one transaction (`MessageBus.handle_in_order`). Runs alternate between the two, each on
applications not yet touched; the figure is applications a second, and each run's CPU of this process per
application is kept beside it."""
from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

from bench.common import KAFKA, Result, clock, scratch_database
from intake.bootstrap import bootstrap
from intake.config import Settings
from intake.domain.commands import CreateApplication, RecordOutcome
from intake.domain.forms import Applicant, Form
from intake.domain.model import Status
from intake.service.handlers import lock_applications
from servicekit.bus import MessageBus, Prepare
from servicekit.migrations import upgrade
from servicekit.settings import DbSettings, KafkaSettings

RUNS = 5
BATCHES = 30  # a run
PER_BATCH = 10  # applications: twenty outcomes
MIGRATIONS = __import__("pathlib").Path(__file__).resolve().parents[1] / "services" / "intake" / "migrations"
AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
FORM = Form(program="P3", applicant=Applicant("Bench Lab", "academia", "SNU", "Seoul"), gpu_model="H100",
            period_start=date(2026, 12, 1), period_end=date(2027, 1, 31), planned_gpu_hours_per_month=3000,
            purpose="benchmark", gpus_requested=8, earliest_start=date(2026, 12, 1), acceptable_window_months=2)


async def one_run(bus: MessageBus, apps: list[Any], prepare: Prepare | None, cpu: list[float]) -> float:
    """Applications a second over BATCHES batches; this process's CPU per application goes to `cpu` (µs)."""
    start, cpu_start = clock(), time.process_time()
    for n in range(BATCHES):
        batch = apps[n * PER_BATCH:(n + 1) * PER_BATCH]
        outcomes = [RecordOutcome(a, Status.SCORED, "score 80.00", AT) for a in batch] + [
            RecordOutcome(a, Status.ACTIVE, "8 GPUs allocated", AT) for a in batch]
        ran = await bus.handle_in_order([(uuid.uuid4(), "bench", o) for o in outcomes], prepare=prepare)
        assert ran == len(outcomes), ran
    cpu.append((time.process_time() - cpu_start) * 1e6 / (BATCHES * PER_BATCH))
    return BATCHES * PER_BATCH / (clock() - start)


async def run() -> list[Result]:
    async with scratch_database() as url:
        await asyncio.to_thread(upgrade, MIGRATIONS, url)
        runtime = bootstrap(Settings(db=DbSettings(url=url), kafka=KafkaSettings(bootstrap_servers=KAFKA)))
        try:
            per_run = BATCHES * PER_BATCH
            apps = [(await runtime.bus.handle(CreateApplication(partner_id=uuid.uuid4(), form=FORM))).id
                    for _ in range(per_run * (RUNS + 1) * 2)]
            fresh = iter(range(0, len(apps), per_run))
            samples: dict[str, list[float]] = {"alone": [], "locked": []}
            cpu: dict[str, list[float]] = {"alone": [], "locked": []}
            for n in range(RUNS + 1):  # alternating; the first pair warms up both (statements prepared)
                order = ("alone", "locked") if n % 2 == 0 else ("locked", "alone")
                for way in order:
                    first = next(fresh)
                    rate = await one_run(runtime.bus, apps[first:first + per_run],
                                         lock_applications if way == "locked" else None, cpu[way])
                    if n:
                        samples[way].append(rate)
                    else:
                        cpu[way].clear()
        finally:
            await runtime.aclose()
    return [Result("each outcome reads its application alone", "applications/s", samples["alone"],
                   {"cpu_us_per_application": cpu["alone"]}),
            Result("a batch's applications read at once", "applications/s", samples["locked"],
                   {"cpu_us_per_application": cpu["locked"]})]
