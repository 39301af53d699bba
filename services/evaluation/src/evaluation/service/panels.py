"""Putting panels together: at an application's arrival, and for those still waiting when a reviewer registers.

An application without enough conflict-free reviewers stays `awaiting_reviewers`; each reviewer registration retries
every waiting application, oldest first, in the registration's own transaction.
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime
from uuid import UUID

from contracts import ApplicationInReview
from evaluation.domain.model import Evaluation
from evaluation.domain.panel import Reviewer, choose_panel
from evaluation.domain.policy import Policy
from evaluation.service.unit_of_work import EvaluationUnitOfWork


async def assign_panel(result: Evaluation, policy: Policy, uow: EvaluationUnitOfWork, at: datetime, *,
                       pool: list[Reviewer], load: Counter[UUID]) -> bool:
    """Record the panel (or only the exclusions, when too few remain) and announce it; `load` is kept current."""
    panel = choose_panel(result.submission, pool, load, policy.reviewers_per_application)
    await uow.panels.assign(result.application_id, panel.assigned, panel.excluded, at)
    if not panel.assigned:
        return False
    load.update(r.id for r in panel.assigned)
    result.start_review()
    await uow.evaluations.save(result)
    await uow.outbox.add(ApplicationInReview(application_id=result.application_id,
                                             reviewers=len(panel.assigned)))
    return True


async def pool_and_load(uow: EvaluationUnitOfWork) -> tuple[list[Reviewer], Counter[UUID]]:
    """The active reviewers and their open assignments, read under the lock every panel assignment takes."""
    await uow.reviewers.lock_assignment()
    return await uow.reviewers.find(active_only=True), Counter(await uow.reviewers.open_load())


async def assign_waiting(uow: EvaluationUnitOfWork, at: datetime) -> int:
    """Give a panel to every waiting application that can now have one; returns how many got one."""
    pool, load = await pool_and_load(uow)  # first: an arrival committed meanwhile is then in `waiting`
    waiting = await uow.evaluations.awaiting_reviewers()
    policies: dict[str, Policy] = {}
    assigned = 0
    for result in waiting:
        version = result.eligibility_policy_version or result.policy_version
        if version not in policies:
            policies[version] = await uow.policies.get(version) or await uow.policies.in_force(at)
        assigned += await assign_panel(result, policies[version], uow, at, pool=pool, load=load)
    return assigned
