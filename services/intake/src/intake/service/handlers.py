"""Intake's handlers; the HANDLERS map at the bottom is the service's table of contents."""
from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime
from uuid import uuid4

from contracts import Applicant as ApplicantContract
from contracts import ApplicationSubmitted, ApplicationWithdrawn
from intake.adapters.unit_of_work import IntakeUnitOfWork
from intake.domain import model
from intake.domain.commands import RecordOutcome, SubmitApplication, WithdrawApplication
from intake.domain.errors import ApplicationNotFound

log = logging.getLogger(__name__)


async def submit_application(cmd: SubmitApplication, uow: IntakeUnitOfWork) -> model.Application:
    fields = {f.name: getattr(cmd, f.name) for f in dataclasses.fields(cmd) if f.name != "partner_id"}
    app = model.submit(uuid4(), cmd.partner_id, datetime.now(UTC), **fields)
    await uow.applications.add(app)
    await uow.outbox.add(ApplicationSubmitted(
        application_id=app.id, partner_id=app.partner_id, program=app.program, call_id=app.call_id,
        applicant=ApplicantContract(**vars(app.applicant)), gpus_requested=app.gpus_requested,
        gpu_model=app.gpu_model, period_start=app.period_start, period_end=app.period_end,
        planned_gpu_hours_per_month=app.planned_gpu_hours_per_month, purpose=app.purpose,
    ))
    return app


async def withdraw_application(cmd: WithdrawApplication, uow: IntakeUnitOfWork) -> model.Application:
    app = await uow.applications.get(cmd.application_id, for_update=True)
    if app is None or app.partner_id != cmd.partner_id:
        raise ApplicationNotFound(str(cmd.application_id))
    app.withdraw(cmd.reason, datetime.now(UTC))
    await uow.applications.save(app)
    await uow.outbox.add(ApplicationWithdrawn(application_id=app.id, reason=cmd.reason))
    return app


async def record_outcome(cmd: RecordOutcome, uow: IntakeUnitOfWork) -> None:
    app = await uow.applications.get(cmd.application_id, for_update=True)
    if app is None:
        log.warning("outcome %s for unknown application %s", cmd.status, cmd.application_id)
        return
    if app.advance(cmd.status, cmd.reason, cmd.at):
        await uow.applications.save(app)


HANDLERS = {
    SubmitApplication: submit_application,
    WithdrawApplication: withdraw_application,
    RecordOutcome: record_outcome,
}
