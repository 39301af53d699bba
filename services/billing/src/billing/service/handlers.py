"""Billing's handlers; the HANDLERS map at the bottom is the service's table of contents.

A handler that needs the billing policy (prices and payer shares, from the settings) takes it as `policy`, one that
needs the time takes `clock`; bootstrap injects both.
"""
from __future__ import annotations

import logging
from uuid import uuid4

from billing.domain.commands import CloseAccount, InvoiceEndedAccount, OpenAccount, RecordUsage, SetTariff
from billing.domain.model import Account, AccountStatus, BillingPolicy, Invoice, Tariff, UsageEntry
from billing.service.unit_of_work import BillingUnitOfWork
from contracts import InvoiceIssued
from servicekit.bus import Handlers
from servicekit.clock import Clock

log = logging.getLogger(__name__)


async def open_account(cmd: OpenAccount, uow: BillingUnitOfWork, policy: BillingPolicy, clock: Clock) -> Account:
    """The price is fixed now, at the tariff of the day: a later tariff change applies to later allocations."""
    rate = policy.krw_per_gpu_hour(await uow.tariffs.get(cmd.gpu_model))
    account = Account(allocation_id=cmd.allocation_id, application_id=cmd.application_id, program=cmd.program,
                      gpu_model=cmd.gpu_model, gpus=cmd.gpus, starts_at=cmd.starts_at, ends_at=cmd.ends_at,
                      krw_per_gpu_hour=rate, opened_at=clock())
    if not await uow.accounts.add(account):
        log.info("allocation %s already has an account; the repeat changes nothing", cmd.allocation_id)
    return account


async def close_account(cmd: CloseAccount, uow: BillingUnitOfWork, policy: BillingPolicy,
                        clock: Clock) -> Invoice | None:
    account = await uow.accounts.get(cmd.allocation_id, for_update=True)
    if account is None:
        log.warning("reclaim of allocation %s, which billing never saw allocated", cmd.allocation_id)
        return None
    if account.status is AccountStatus.INVOICED:
        log.info("allocation %s is already invoiced; the reclaim changes nothing", cmd.allocation_id)
        return None
    account.close(cmd.closed_at)
    return await _issue(account, uow, policy, clock)


async def invoice_ended_account(cmd: InvoiceEndedAccount, uow: BillingUnitOfWork, policy: BillingPolicy,
                                clock: Clock) -> Invoice | None:
    account = await uow.accounts.get(cmd.allocation_id, for_update=True)
    if account is None or not account.is_due(cmd.at):
        return None  # invoiced meanwhile (by a reclaim or another worker): nothing left to do
    return await _issue(account, uow, policy, clock)


async def _issue(account: Account, uow: BillingUnitOfWork, policy: BillingPolicy, clock: Clock) -> Invoice:
    invoice = account.invoice(uuid4(), policy.shares, clock())
    await uow.accounts.save(account)
    await uow.invoices.add(invoice)
    await uow.outbox.add(InvoiceIssued(
        application_id=invoice.application_id, invoice_id=invoice.id, allocation_id=invoice.allocation_id,
        program=invoice.program, gpu_hours=float(invoice.gpu_hours),
        market_value_krw=invoice.market_value_krw, payable_krw=invoice.payable_krw,
    ))
    return invoice


async def record_usage(cmd: RecordUsage, uow: BillingUnitOfWork) -> None:
    await uow.usage.add(UsageEntry(
        id=cmd.entry_id, allocation_id=cmd.allocation_id, application_id=cmd.application_id,
        window_start=cmd.window_start, window_end=cmd.window_end, gpu_hours=cmd.gpu_hours,
        utilization_pct=cmd.utilization_pct, recorded_at=cmd.recorded_at,
    ))


async def set_tariff(cmd: SetTariff, uow: BillingUnitOfWork, clock: Clock) -> Tariff:
    tariff = Tariff(gpu_model=cmd.gpu_model, krw_per_gpu_hour=cmd.krw_per_gpu_hour, updated_at=clock())
    await uow.tariffs.put(tariff)
    return tariff


HANDLERS: Handlers = {
    OpenAccount: open_account,
    CloseAccount: close_account,
    InvoiceEndedAccount: invoice_ended_account,
    RecordUsage: record_usage,
    SetTariff: set_tariff,
}
