"""Reading an application with its latest offer in one statement, on the real database: read for update while
another transaction holds it, it comes as that transaction left it, its offer too."""
from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime

import asyncpg
import pytest

from intake.bootstrap import bootstrap
from intake.domain.commands import CreateApplication, RecordOutcome
from intake.domain.forms import Applicant, Form
from intake.domain.model import Application, Status
from intake.domain.offers import OfferState
from support.stack import Stack

AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
P3_FORM = Form(program="P3", applicant=Applicant("Dr. Kim", "academia", "KAIST", "Daejeon"), gpu_model="H100",
               period_start=date(2026, 12, 1), period_end=date(2027, 2, 28), planned_gpu_hours_per_month=2000,
               purpose="fine-tuning a Korean LLM", gpus_requested=4, earliest_start=date(2026, 12, 1),
               acceptable_window_months=3)


async def waitlisted(stack: Stack) -> uuid.UUID:
    runtime = bootstrap(stack.settings("intake"), clock=lambda: AT)
    try:
        app = await runtime.bus.handle(CreateApplication(partner_id=uuid.uuid4(), form=P3_FORM))
        await runtime.bus.handle(RecordOutcome(app.id, Status.WAITLISTED, "no idle window fits now", AT))
        return uuid.UUID(str(app.id))
    finally:
        await runtime.aclose()


async def read_for_update_while(stack: Stack, app_id: uuid.UUID, *changes: str,
                                batch: tuple[uuid.UUID, ...] = ()) -> Application | None:
    """The application read for update while another transaction, holding it, makes `changes` and commits; with
    `batch`, locked with those others at once first (as a batch of events does), then read."""
    other = await asyncpg.connect(stack.db_dsn)
    runtime = bootstrap(stack.settings("intake"), clock=lambda: AT)
    try:
        async with other.transaction():
            await other.execute("SELECT 1 FROM intake.application WHERE id = $1 FOR UPDATE", app_id)
            for change in changes:
                await other.execute(change, app_id)

            async def read() -> Application | None:
                async with runtime.uow_factory() as uow:
                    if batch:
                        await uow.applications.lock([*batch, app_id])
                    return await uow.applications.get(app_id, for_update=True)

            reading = asyncio.create_task(read())
            await asyncio.sleep(0.5)
            assert not reading.done(), "the read did not wait for the lock"
        return await reading
    finally:
        await other.close()
        await runtime.aclose()


OFFER = ("INSERT INTO intake.offer (id, application_id, gpu_model, gpus, starts_at, ends_at, expires_at, made_at, "
         "state) VALUES (gen_random_uuid(), $1, 'H100', 4, '2026-12-01Z', '2027-02-28Z', '2026-11-05Z', "
         "'2026-11-02T10:00Z', 'open')")
OFFERED = "UPDATE intake.application SET status = 'offered', updated_at = '2026-11-02T10:00Z' WHERE id = $1"


@pytest.mark.parametrize("alone", [True, False], ids=["alone", "locked-with-others"])
async def test_a_read_that_waited_for_an_offer_being_made_has_the_offer(stack: Stack, alone: bool) -> None:
    app_id = await waitlisted(stack)
    others = () if alone else (await waitlisted(stack), uuid.uuid4())  # and one that does not exist
    app = await read_for_update_while(stack, app_id, OFFER, OFFERED, batch=others)
    assert app is not None and app.status is Status.OFFERED
    assert app.offer is not None and app.offer.state is OfferState.OPEN and app.offer.gpus == 4


async def test_a_read_that_waited_for_an_answer_has_the_answered_offer(stack: Stack) -> None:
    app_id = await waitlisted(stack)
    await read_for_update_while(stack, app_id, OFFER, OFFERED)
    app = await read_for_update_while(
        stack, app_id,
        "UPDATE intake.offer SET state = 'accepted', answered_at = '2026-11-03Z' WHERE application_id = $1",
        "UPDATE intake.application SET status = 'accepted' WHERE id = $1")
    assert app is not None and app.status is Status.ACCEPTED
    assert app.offer is not None and app.offer.state is OfferState.ACCEPTED
    assert app.offer.answered_at == datetime(2026, 11, 3, tzinfo=UTC)


async def test_a_read_that_did_not_wait_has_the_latest_offer(stack: Stack) -> None:
    app_id = await waitlisted(stack)
    await read_for_update_while(stack, app_id, OFFER, OFFERED)
    other = await asyncpg.connect(stack.db_dsn)
    try:  # a later offer, made at once
        await other.execute(OFFER.replace("'2026-11-02T10:00Z'", "'2026-11-02T11:00Z'").replace("4,", "8,"), app_id)
    finally:
        await other.close()
    runtime = bootstrap(stack.settings("intake"), clock=lambda: AT)
    try:
        async with runtime.uow_factory() as uow:
            app = await uow.applications.get(app_id, for_update=True)
    finally:
        await runtime.aclose()
    assert app is not None and app.offer is not None and app.offer.gpus == 8
