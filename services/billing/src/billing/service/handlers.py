"""Billing's handlers; the HANDLERS map at the bottom is the service's table of contents.

Every fact that changes what is owed (an application, a youth finding, a grant, its end, a market price, an
open-source release) reprices the allocations it touches: `owed` says what the ledger should hold, `reconcile` posts
the difference, each line naming the event it was posted for. A handler that needs the policy (prices and shares,
from the settings) takes it as `policy`, one that needs the time takes `clock`; bootstrap injects both.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from billing.domain.commands import (
    EndGrant,
    IssueDocument,
    OpenGrant,
    RecordApplication,
    RecordPayment,
    RecordRelease,
    RecordUsage,
    RecordYouth,
    RunInvoicing,
    SetMarketPrice,
    VoidDocument,
)
from billing.domain.errors import (
    ApplicationNotFound,
    DocumentNotFound,
    DocumentStateConflict,
    NotAProject,
    ReleaseAlreadyRecorded,
)
from billing.domain.ledger import (
    SEOUL,
    Cause,
    Document,
    DocumentKind,
    DocumentStatus,
    Grant,
    PayerKind,
    PriceBook,
    Profile,
    Release,
    drafts,
    month_of,
    month_start,
    number,
    owed,
    reconcile,
)
from billing.domain.model import BillingPolicy, UsageEntry
from billing.service.unit_of_work import BillingUnitOfWork
from contracts import CreditNoteIssued, InvoiceIssued, MarketPriceSet, OpenSourceReleaseRecorded
from servicekit.bus import Handlers
from servicekit.clock import Clock

log = logging.getLogger(__name__)


async def reprice(allocation_ids: Iterable[UUID], uow: BillingUnitOfWork, policy: BillingPolicy, cause: Cause,
                  now: datetime) -> int:
    """Post what the allocations owe now, less what the ledger holds for them; returns the lines posted.

    Each allocation's grant is locked first (in id order, so two repricings never wait on each other in a ring):
    two facts about one allocation read at once post one after the other, never the same difference twice. An
    allocation whose application billing has not read yet owes nothing until it has."""
    posted = 0
    prices: dict[str, PriceBook] = {}  # per GPU model, read once per repricing
    for allocation_id in sorted(set(allocation_ids)):
        grant = await uow.grants.get(allocation_id, for_update=True)
        if grant is None:
            continue
        # the profile is read after the lock (not joined into its statement): a fact committed while this waited
        # for the lock is then seen
        posted += await _post(grant, await uow.profiles.get(grant.application_id), uow, policy, cause, now,
                              prices=prices)
    return posted


async def _post(grant: Grant, profile: Profile | None, uow: BillingUnitOfWork, policy: BillingPolicy, cause: Cause,
                now: datetime, *, prices: dict[str, PriceBook] | None = None, opened: bool = False) -> int:
    """Post what the grant owes now, less what the ledger holds for it (nothing, when it was `opened` just now);
    returns the lines posted."""
    if profile is None:
        log.info("allocation %s waits for its application %s", grant.allocation_id, grant.application_id)
        return 0
    prices = {} if prices is None else prices
    if grant.gpu_model not in prices:
        prices[grant.gpu_model] = PriceBook(await uow.prices.of_model(grant.gpu_model),
                                            policy.default_krw_per_gpu_hour)
    # lines are posted only for a stored grant and grants are never deleted: a grant opened now has none
    held = {} if opened else await uow.ledger.posted(grant.allocation_id)
    lines = reconcile(owed(grant, profile, prices[grant.gpu_model], policy.shares), held)
    await uow.ledger.append(lines, cause, now)
    return len(lines)


async def record_application(cmd: RecordApplication, uow: BillingUnitOfWork, policy: BillingPolicy,
                             clock: Clock) -> None:
    granted = await uow.profiles.add(cmd.profile)  # None when known already: the first announcement stands
    if granted is not None:
        await reprice(granted, uow, policy, cmd.cause, clock())


async def record_youth(cmd: RecordYouth, uow: BillingUnitOfWork, policy: BillingPolicy, clock: Clock) -> None:
    granted = await uow.profiles.put_youth(cmd.application_id, cmd.youth)
    await reprice(granted, uow, policy, cmd.cause, clock())


async def open_grant(cmd: OpenGrant, uow: BillingUnitOfWork, policy: BillingPolicy, clock: Clock) -> None:
    opened = await uow.grants.open(cmd.grant)
    if opened is None:  # known already: reprice the grant as stored
        await reprice([cmd.grant.allocation_id], uow, policy, cmd.cause, clock())
        return
    # new: no other transaction sees the grant before this one commits, so there is nothing to lock or wait for
    grant, profile = opened
    await _post(grant, profile, uow, policy, cmd.cause, clock(), opened=True)


async def end_grant(cmd: EndGrant, uow: BillingUnitOfWork, policy: BillingPolicy, clock: Clock) -> None:
    await uow.grants.end(cmd.allocation_id, cmd.ended_at)
    await reprice([cmd.allocation_id], uow, policy, cmd.cause, clock())


async def set_market_price(cmd: SetMarketPrice, uow: BillingUnitOfWork, policy: BillingPolicy,
                           clock: Clock) -> MarketPriceSet:
    """The price applies from its day on: every allocation of the model on the CSP running past that day is
    repriced, its lines before the day left as they are."""
    now = clock()
    price = cmd.price
    event = MarketPriceSet(csp=price.csp, gpu_model=price.gpu_model, effective_from=price.effective_from,
                           krw_per_gpu_hour=price.krw_per_gpu_hour, occurred_at=now)
    await uow.prices.put(price, event.id, now, cmd.by)
    await uow.outbox.add(event)
    affected = await uow.grants.priced_by(price.csp, price.gpu_model, price.effective_from)
    await reprice(affected, uow, policy, Cause(event.id, event.type, now), now)
    return event


async def record_release(cmd: RecordRelease, uow: BillingUnitOfWork, policy: BillingPolicy,
                         clock: Clock) -> OpenSourceReleaseRecorded:
    """The participants owe nothing from now on, and what they were invoiced is credited back (the next invoicing
    round issues the credit note)."""
    profile = await uow.profiles.get(cmd.application_id)
    if profile is None:
        raise ApplicationNotFound(f"billing has not read application {cmd.application_id}")
    if profile.program != "P2":
        raise NotAProject(f"application {cmd.application_id} is {profile.program}: only P2 projects have corporate "
                          f"participants whose fees a release waives")
    now = clock()
    event = OpenSourceReleaseRecorded(application_id=cmd.application_id, url=cmd.url, released_on=cmd.released_on,
                                      occurred_at=now)
    if not await uow.profiles.add_release(cmd.application_id, Release(cmd.url, cmd.released_on, event.id), now,
                                          cmd.by):
        raise ReleaseAlreadyRecorded(f"application {cmd.application_id} has a release recorded already")
    await uow.outbox.add(event)
    await reprice(await uow.grants.of_application(cmd.application_id), uow, policy,
                  Cause(event.id, event.type, now), now)
    return event


async def record_usage(cmd: RecordUsage, uow: BillingUnitOfWork) -> None:
    await uow.usage.add(UsageEntry(
        id=cmd.entry_id, allocation_id=cmd.allocation_id, application_id=cmd.application_id,
        window_start=cmd.window_start, window_end=cmd.window_end, gpu_hours=cmd.gpu_hours,
        utilization_pct=cmd.utilization_pct, recorded_at=cmd.recorded_at,
    ))


async def run_invoicing(cmd: RunInvoicing, uow: BillingUnitOfWork, policy: BillingPolicy) -> list[Document]:
    """Redraw every draft from the ledger as it stands at `cmd.at`, then issue those drafted `review_days` ago.

    Invoices are for the months that have ended (the last one's), credit notes for reversals of what was invoiced
    are drafted at once. A draft keeps the time it was first drafted while it is redrawn the same."""
    await uow.documents.lock_round()
    before = {d["id"]: d["drafted_at"] for d in await uow.documents.drafts_due(cmd.at)}
    await uow.documents.drop_drafts()
    now = cmd.at
    closed_before = month_start(now)
    for draft in drafts(await uow.ledger.unbilled(closed_before), closed_before=closed_before,
                        month=_previous_month(closed_before)):
        if draft.kind is DocumentKind.CREDIT_NOTE:
            draft = replace(draft, month=month_of(now))  # a credit note is of the month it is drafted in
        document_id = draft.document_id(await uow.documents.ordinal(draft))
        credits: list[str] = []
        reason = None
        if draft.kind is DocumentKind.CREDIT_NOTE:
            credits = await uow.documents.invoices_billing([line.key for line in draft.lines])
            reason = await _credit_reason(draft.payer.kind, {line.application_id for line in draft.lines}, uow)
        busy = {(line.key.allocation_id, line.key.period_start, line.key.period_end):
                await uow.usage.busy_gpu_hours(line.key.allocation_id, line.key.period_start, line.key.period_end)
                for line in draft.lines}
        await uow.documents.add_draft(document_id, draft, credits, reason, before.get(document_id, now), busy)
    issued = []
    for row in await uow.documents.drafts_due(_days_before(now, policy.review_days)):
        issued.append(await _issue(row["id"], uow, now, by="invoicing"))
    return issued


def _previous_month(month_begins: datetime) -> date:
    return month_of(month_begins - timedelta(days=1))


def _days_before(at: datetime, days: int) -> datetime:
    return at - timedelta(days=days)


async def _credit_reason(payer_kind: PayerKind, application_ids: set[UUID], uow: BillingUnitOfWork) -> str:
    if payer_kind is PayerKind.PARTICIPANT:
        profiles = [await uow.profiles.get(a) for a in sorted(application_ids)]
        if all(p is not None and p.release is not None for p in profiles):
            return "open_source_release"
    return "correction"


async def _issue(document_id: UUID, uow: BillingUnitOfWork, now: datetime, *, by: str) -> Document:
    """Number the draft (the next of its kind and year, without gaps), mark it issued and announce it."""
    found = await uow.documents.get(document_id, for_update=True)
    if found is None:
        raise DocumentNotFound(f"no document {document_id}")
    if found.status is not DocumentStatus.DRAFT:
        raise DocumentStateConflict(f"document {document_id} is {found.status}, not a draft")
    year = now.astimezone(SEOUL).year
    assigned = number(found.kind, year, await uow.documents.next_number(found.kind, year))
    await uow.documents.set_status(document_id, DocumentStatus.ISSUED, number=assigned, issued_at=now,
                                   changed_by=by)
    common: dict[str, Any] = {
        "document_id": document_id, "number": assigned, "partner_id": found.partner_id,
        "payer_kind": found.payer.kind.value, "payer_name": found.payer.name, "month": found.month,
        "total_krw": found.total_krw, "application_ids": sorted({line.application_id for line in found.lines}),
        "issued_at": now, "occurred_at": now,
    }
    if found.kind is DocumentKind.INVOICE:
        await uow.outbox.add(InvoiceIssued(**common))
    else:
        await uow.outbox.add(CreditNoteIssued(**common, credits=list(found.credits),
                                              reason=found.reason or "correction"))
    issued = await uow.documents.get(document_id)
    assert issued is not None
    return issued


async def issue_document(cmd: IssueDocument, uow: BillingUnitOfWork, clock: Clock) -> Document:
    return await _issue(cmd.document_id, uow, clock(), by=cmd.by)


async def record_payment(cmd: RecordPayment, uow: BillingUnitOfWork) -> Document:
    found = await _standing(cmd.document_id, uow)
    if found.kind is not DocumentKind.INVOICE or found.status is not DocumentStatus.ISSUED:
        raise DocumentStateConflict(f"only an issued invoice can be paid; {found.number} is a {found.status} "
                                    f"{found.kind.replace('_', ' ')}")
    paid_at = datetime.combine(cmd.paid_on, datetime.min.time(), SEOUL)
    await uow.documents.set_status(cmd.document_id, DocumentStatus.PAID, paid_at=paid_at,
                                   payment_reference=cmd.reference, changed_by=cmd.by)
    return await _standing(cmd.document_id, uow)


async def void_document(cmd: VoidDocument, uow: BillingUnitOfWork, clock: Clock) -> Document:
    found = await _standing(cmd.document_id, uow)
    if found.kind is not DocumentKind.INVOICE or found.status is not DocumentStatus.ISSUED:
        raise DocumentStateConflict(f"only an issued, unpaid invoice can be voided; {found.number or 'the draft'} is "
                                    f"a {found.status} {found.kind.replace('_', ' ')}")
    await uow.documents.set_status(cmd.document_id, DocumentStatus.VOID, voided_at=clock(),
                                   void_reason=cmd.reason, changed_by=cmd.by)
    return await _standing(cmd.document_id, uow)


async def _standing(document_id: UUID, uow: BillingUnitOfWork) -> Document:
    found = await uow.documents.get(document_id, for_update=True)
    if found is None:
        raise DocumentNotFound(f"no document {document_id}")
    return found


HANDLERS: Handlers = {
    RecordApplication: record_application,
    RecordYouth: record_youth,
    OpenGrant: open_grant,
    EndGrant: end_grant,
    RecordUsage: record_usage,
    SetMarketPrice: set_market_price,
    RecordRelease: record_release,
    RunInvoicing: run_invoicing,
    IssueDocument: issue_document,
    RecordPayment: record_payment,
    VoidDocument: void_document,
}
