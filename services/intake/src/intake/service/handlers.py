"""Intake's handlers; the HANDLERS map at the bottom is the service's table of contents."""
from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID, uuid4

from pydantic import TypeAdapter

from contracts import ApplicationSubmitted, ApplicationWithdrawn, CallClosed, OfferAccepted, OfferDeclined
from intake.domain import calls, model, webhooks
from intake.domain.commands import (
    AcceptOffer,
    CloseCall,
    CloseDueCalls,
    CreateApplication,
    DeclineOffer,
    EditDraft,
    ExpireOffer,
    NotifyDocument,
    NotifyUsage,
    OpenCall,
    RecordCsp,
    RecordOffer,
    RecordOutcome,
    RegisterWebhook,
    RemoveWebhook,
    SubmitApplication,
    WithdrawApplication,
)
from intake.domain.errors import ApplicationNotFound, CallNotFound, InvalidInput, TooManyWebhooks, WebhookNotFound
from intake.domain.forms import Form, Limits
from intake.domain.types import ProgramCode
from intake.service.csps import record_csp
from intake.service.unit_of_work import IntakeUnitOfWork
from servicekit.bus import Handlers
from servicekit.clock import Clock

log = logging.getLogger(__name__)
FORM = TypeAdapter(Form)  # a form as plain values: dataclasses.asdict's deep copy costs ten times more


async def create_application(cmd: CreateApplication, uow: IntakeUnitOfWork, clock: Clock,
                             limits: Limits) -> model.Application:
    program = await _program(uow, cmd.form.program)
    call = await uow.calls.get(cmd.form.call_id, lock="share") if cmd.form.call_id else None
    now = clock()
    app = model.new_application(uuid4(), cmd.partner_id, cmd.form, program=program, call=call,
                                at=now, limits=limits, submit=cmd.submit)
    await _store(uow, app, now, new=True)
    if app.status is model.Status.SUBMITTED:
        await uow.outbox.add(_submitted(app))
    return app


async def edit_draft(cmd: EditDraft, uow: IntakeUnitOfWork, clock: Clock, limits: Limits) -> model.Application:
    """A draft never left intake: its edit is told to nobody, unless it is submitted with it."""
    app = await _own_application(uow, cmd.application_id, cmd.partner_id)
    program = await _program(uow, cmd.form.program)
    call = await uow.calls.get(cmd.form.call_id, lock="share") if cmd.form.call_id else None
    now = clock()
    app.edit(cmd.form, program=program, call=call, at=now, limits=limits, submit=cmd.submit)
    await _store(uow, app, now)
    if app.status is model.Status.SUBMITTED:
        await uow.outbox.add(_submitted(app))
    return app


async def submit_application(cmd: SubmitApplication, uow: IntakeUnitOfWork, clock: Clock) -> model.Application:
    app = await _own_application(uow, cmd.application_id, cmd.partner_id)
    call = await uow.calls.get(app.call_id, lock="share") if app.call_id else None
    now = clock()
    app.submit(now, await _program(uow, app.program), call)
    await _store(uow, app, now)
    await uow.outbox.add(_submitted(app))
    return app


async def withdraw_application(cmd: WithdrawApplication, uow: IntakeUnitOfWork, clock: Clock) -> model.Application:
    app = await _own_application(uow, cmd.application_id, cmd.partner_id)
    was_draft = app.status is model.Status.DRAFT
    now = clock()
    app.withdraw(cmd.reason, now)
    await _store(uow, app, now)
    if not was_draft:  # a draft never left intake: nobody else knows it
        await uow.outbox.add(ApplicationWithdrawn(application_id=app.id, reason=cmd.reason))
    return app


async def record_outcome(cmd: RecordOutcome, uow: IntakeUnitOfWork, clock: Clock) -> None:
    app = await uow.applications.get(cmd.application_id, for_update=True)
    if app is None:
        log.warning("outcome %s for unknown application %s", cmd.status, cmd.application_id)
        return
    if app.advance(cmd.status, cmd.reason, cmd.at):
        await _store(uow, app, clock())


async def lock_applications(commands: list[object], uow: IntakeUnitOfWork) -> None:
    """Before a batch of other services' events runs, command by command: the applications its outcomes and offers
    change, read for update in one round trip (and one order of locks) instead of one each."""
    ids = {c.application_id for c in commands if isinstance(c, RecordOutcome | RecordOffer | ExpireOffer)}
    if len(ids) > 1:  # one alone is read by its own handler, as it would be
        await uow.applications.lock(ids)


async def notify_usage(cmd: NotifyUsage, uow: IntakeUnitOfWork, clock: Clock) -> int:
    """The partner's webhooks are told, as a status-change event whose status stays `active` and whose reason
    carries telemetry's numbers; the application itself does not change. Only an active application is told."""
    app = await uow.applications.get(cmd.application_id)
    if app is None or app.status is not model.Status.ACTIVE:
        log.info("usage notice for application %s not sent: %s", cmd.application_id,
                 "unknown" if app is None else app.status)
        return 0
    return await uow.webhooks.notify(app.partner_id, app.id, [(app.status.value, cmd.reason)], occurred_at=cmd.at,
                                     now=clock())


async def notify_document(cmd: NotifyDocument, uow: IntakeUnitOfWork, clock: Clock) -> int:
    return await uow.webhooks.notify_document(cmd.partner_id, cmd.event, cmd.document, occurred_at=cmd.at,
                                              now=clock())


async def record_offer(cmd: RecordOffer, uow: IntakeUnitOfWork, clock: Clock) -> None:
    app = await uow.applications.get(cmd.application_id, for_update=True)
    if app is None:
        log.warning("offer %s for unknown application %s", cmd.offer.id, cmd.application_id)
        return
    if app.receive_offer(cmd.offer, cmd.offer.made_at):
        await _store(uow, app, clock())
    else:  # allocation hears of it by the expiry it set, or by the withdrawal it was sent
        log.warning("offer %s ignored: application %s is %s", cmd.offer.id, app.id, app.status)


async def expire_offer(cmd: ExpireOffer, uow: IntakeUnitOfWork, clock: Clock) -> None:
    app = await uow.applications.get(cmd.application_id, for_update=True)
    if app is not None and app.expire_offer(cmd.offer_id, cmd.at):
        await _store(uow, app, clock())


async def accept_offer(cmd: AcceptOffer, uow: IntakeUnitOfWork, clock: Clock) -> model.Application:
    app = await _own_application(uow, cmd.application_id, cmd.partner_id)
    now = clock()
    accepted = app.accept_offer(now)
    await _store(uow, app, now)
    await uow.outbox.add(OfferAccepted(application_id=app.id, offer_id=accepted.id))
    return app


async def decline_offer(cmd: DeclineOffer, uow: IntakeUnitOfWork, clock: Clock) -> model.Application:
    app = await _own_application(uow, cmd.application_id, cmd.partner_id)
    now = clock()
    declined = app.decline_offer(cmd.reason, now)
    await _store(uow, app, now)
    await uow.outbox.add(OfferDeclined(application_id=app.id, offer_id=declined.id, reason=cmd.reason))
    return app


async def open_call(cmd: OpenCall, uow: IntakeUnitOfWork) -> calls.Call:
    call = calls.open_call(uuid4(), await _program(uow, cmd.program), cmd.title, cmd.opens_at, cmd.closes_at)
    await uow.calls.add(call)
    return call


async def close_call(cmd: CloseCall, uow: IntakeUnitOfWork, clock: Clock) -> calls.Call:
    call = await uow.calls.get(cmd.call_id, lock="update")
    if call is None:
        raise CallNotFound(f"no call {cmd.call_id}")
    call.close(clock())
    await uow.calls.save(call)
    await uow.outbox.add(CallClosed(call_id=call.id, program=call.program, opens_at=call.opens_at,
                                    closes_at=call.closes_at,
                                    application_ids=await uow.applications.submitted_to(call.id)))
    return call


async def close_due_calls(cmd: CloseDueCalls, uow: IntakeUnitOfWork, clock: Clock) -> int:
    """The worker's round: every call past its `closes_at` is closed by the operator's own handler, in one
    transaction; a call closed already is no longer due, so a second round closes (and publishes) nothing."""
    due = await uow.calls.due(cmd.now)
    for call_id in due:
        await close_call(CloseCall(call_id=call_id), uow, clock)
    return len(due)


async def register_webhook(cmd: RegisterWebhook, uow: IntakeUnitOfWork, clock: Clock,
                           max_webhooks: int) -> webhooks.Webhook:
    hook = webhooks.new_webhook(uuid4(), cmd.partner_id, cmd.url, cmd.description, clock())
    # two registrations at the same moment may both pass: the cap is against accumulation, not a quota
    if await uow.webhooks.count(cmd.partner_id) >= max_webhooks:
        raise TooManyWebhooks(f"a partner may have {max_webhooks} webhooks; remove one first")
    await uow.webhooks.add(hook)
    return hook


async def remove_webhook(cmd: RemoveWebhook, uow: IntakeUnitOfWork, clock: Clock) -> None:
    if not await uow.webhooks.remove(cmd.webhook_id, cmd.partner_id, clock()):
        raise WebhookNotFound(f"no webhook {cmd.webhook_id}")


async def _store(uow: IntakeUnitOfWork, app: model.Application, now: datetime, *, new: bool = False) -> None:
    """Save the application; each status change it went through is due to its partner's webhooks from `now`,
    stored with it, so that a change is never notified without being made, nor made without being notified."""
    await (uow.applications.add(app, now) if new else uow.applications.save(app, now))


async def _program(uow: IntakeUnitOfWork, code: ProgramCode) -> calls.Program:
    program = await uow.programs.get(code)
    if program is None:
        raise InvalidInput(("program", f"{code} is not a program"))
    return program


async def _own_application(uow: IntakeUnitOfWork, application_id: UUID, partner_id: UUID) -> model.Application:
    """The partner's application, locked; another partner's is as good as missing."""
    app = await uow.applications.get(application_id, for_update=True)
    if app is None or app.partner_id != partner_id:
        raise ApplicationNotFound(f"no application {application_id}")
    return app


def _submitted(app: model.Application) -> ApplicationSubmitted:
    form = {**FORM.dump_python(app.form), "gpus_requested": app.gpus_requested}
    return ApplicationSubmitted(application_id=app.id, partner_id=app.partner_id, **form)


HANDLERS: Handlers = {
    CreateApplication: create_application,
    EditDraft: edit_draft,
    SubmitApplication: submit_application,
    WithdrawApplication: withdraw_application,
    RecordOutcome: record_outcome,
    NotifyUsage: notify_usage,
    NotifyDocument: notify_document,
    RecordOffer: record_offer,
    ExpireOffer: expire_offer,
    AcceptOffer: accept_offer,
    DeclineOffer: decline_offer,
    OpenCall: open_call,
    CloseCall: close_call,
    CloseDueCalls: close_due_calls,
    RegisterWebhook: register_webhook,
    RemoveWebhook: remove_webhook,
    RecordCsp: record_csp,
}
