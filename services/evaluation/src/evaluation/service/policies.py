"""Policy commands: schedule a version, cancel it before its time, preview what one would change.

Every change is checked against the bounds and the platform's invariants (domain/policy_bounds.py), takes effect at
a stated time at least the minimum notice ahead, and records who made it and when, by the injected clock.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from evaluation.domain.commands import CancelPolicy, PreviewPolicy, PublishPolicy
from evaluation.domain.errors import Conflict, InvalidInput, PolicyNotFound
from evaluation.domain.policy import Change, Policy, PolicyVersion
from evaluation.domain.policy_bounds import ChangeRules, policy_problems, schedule_problems
from evaluation.domain.preview import Preview, compare
from evaluation.service.unit_of_work import EvaluationUnitOfWork
from servicekit.clock import Clock


async def _draft(uow: EvaluationUnitOfWork, version: str, effective_at: datetime, changes: dict[str, Any],
                 now: datetime, rules: ChangeRules) -> tuple[Policy, list[tuple[str, str]]]:
    """The proposed version (the latest version's rules with the changes) and every problem it has."""
    problems: list[tuple[str, str]] = []
    if await uow.policies.record(version) is not None:
        problems.append(("version", f"policy version {version} exists already; a version is never changed"))
    latest = max(await uow.policies.live(), key=lambda p: p.effective_at)
    policy = Policy.from_rules(version, effective_at, {**latest.rules(), **changes})
    problems += schedule_problems(policy, latest, now, rules.min_notice)
    problems += policy_problems(policy, rules.platform)
    return policy, problems


async def publish_policy(cmd: PublishPolicy, uow: EvaluationUnitOfWork, clock: Clock,
                         change_rules: ChangeRules) -> PolicyVersion:
    await uow.policies.lock()
    now = clock()
    policy, problems = await _draft(uow, cmd.version, cmd.effective_at, cmd.changes, now, change_rules)
    if problems and problems[0][0] == "version":
        raise Conflict(problems[0][1])
    if problems:
        raise InvalidInput(problems)
    created = Change(now, cmd.by, cmd.role)
    await uow.policies.add(policy, created)
    return PolicyVersion(policy, created)


async def cancel_policy(cmd: CancelPolicy, uow: EvaluationUnitOfWork, clock: Clock) -> PolicyVersion:
    await uow.policies.lock()
    found, now = await uow.policies.record(cmd.version), clock()
    if found is None:
        raise PolicyNotFound(f"no policy version {cmd.version}")
    if found.cancelled is not None:
        raise Conflict(f"policy version {cmd.version} was cancelled already, at {found.cancelled.at.isoformat()}")
    if found.policy.effective_at <= now:
        raise Conflict(f"policy version {cmd.version} took effect at {found.policy.effective_at.isoformat()}: "
                       "only a scheduled version can be cancelled; publish a new one to change it")
    if await uow.policies.named_by_a_decision(cmd.version):
        raise Conflict(f"a decision dated ahead already names policy version {cmd.version}")
    cancelled = Change(now, cmd.by, cmd.role)
    await uow.policies.cancel(cmd.version, cancelled)
    return PolicyVersion(found.policy, found.created, cancelled)


async def preview_policy(cmd: PreviewPolicy, uow: EvaluationUnitOfWork, clock: Clock,
                         change_rules: ChangeRules) -> Preview:
    """Reads only: the bus commits an empty transaction."""
    now = clock()
    proposed, problems = await _draft(uow, cmd.version, cmd.effective_at, cmd.changes, now, change_rules)
    current = await uow.policies.in_force(now)
    if problems:  # an unsound proposal's scores would mean nothing (a missing weight cannot even be computed)
        return Preview(problems, None, current, now, [])
    rescored = [compare(result, await uow.panels.reviews(result.application_id), current, proposed)
                for result in await uow.evaluations.scored(call_id=cmd.call_id, limit=cmd.limit)]
    return Preview([], proposed, current, now, rescored)
