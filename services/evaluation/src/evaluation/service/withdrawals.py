"""An applicant's withdrawal: the evaluation ends, its reviewers' assignments end, its round waits for it no more.

A withdrawal may reach evaluation before the submission (a parked submission re-driven later): it is kept on record,
and the arrival, serialised with it by a lock on the application, finds it and stays withdrawn from the start.
"""
from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from evaluation.domain.commands import WithdrawApplication
from evaluation.domain.model import Evaluation, Withdrawal
from evaluation.service import rounds
from evaluation.service.unit_of_work import EvaluationUnitOfWork
from servicekit.clock import Clock

log = logging.getLogger(__name__)


async def earlier_withdrawal(application_id: UUID, submitted_at: datetime,
                             uow: EvaluationUnitOfWork) -> tuple[Withdrawal | None, str | None]:
    """For an arrival, taken first (before any call's lock, as a withdrawal takes them): a withdrawal on record, and
    the name of the policy version in force at `submitted_at`, read with the lock (policy changes take no part in it)
    instead of in a round trip of its own."""
    version = await uow.withdrawals.lock_arrival(application_id, submitted_at)
    return await uow.withdrawals.get(application_id), version


async def withdraw_application(cmd: WithdrawApplication, uow: EvaluationUnitOfWork,
                               clock: Clock) -> Evaluation | None:
    """Nothing published is taken back; nothing more is published for it. A repeated withdrawal changes nothing."""
    await uow.withdrawals.lock(cmd.application_id)
    if not await uow.withdrawals.add(Withdrawal(cmd.application_id, cmd.at, cmd.reason)):
        log.info("application %s was withdrawn already; ignoring the repeat", cmd.application_id)
        return None
    found = await uow.evaluations.get(cmd.application_id)
    call_id = found.submission.call_id if found is not None else await _call_waiting_for(cmd.application_id, uow)
    if call_id is not None:  # serialised with the call's close, like an arrival: neither misses the other
        await uow.rounds.lock_call(call_id)
    result = await _end(cmd.application_id, uow, clock) if found is not None else None
    item = await uow.rounds.get(call_id, for_update=True) if call_id is not None else None
    if item is not None and cmd.application_id in item.application_ids:
        await rounds.report_if_complete(item, uow, clock())
    return result


async def _call_waiting_for(application_id: UUID, uow: EvaluationUnitOfWork) -> UUID | None:
    """The call of a closed round that waits for this application's arrival, if any."""
    item = await uow.rounds.waiting_for(application_id)
    return item.call_id if item is not None else None


async def _end(application_id: UUID, uow: EvaluationUnitOfWork, clock: Clock) -> Evaluation | None:
    """Mark the evaluation withdrawn and end its open assignments, under the lock every panel assignment takes."""
    await uow.reviewers.lock_assignment()
    result = await uow.evaluations.get(application_id, for_update=True)
    if result is None:
        return None
    was = result.status
    if result.withdraw():
        await uow.evaluations.save(result)
    ended = await uow.panels.end(application_id, clock())
    log.info("application %s withdrawn while %s; %d review assignment(s) ended", application_id, was, ended)
    return result
