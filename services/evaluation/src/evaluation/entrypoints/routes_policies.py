"""Operators schedule policy versions, cancel them before their start, and preview a proposal without storing it."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query

from evaluation.domain.commands import CancelPolicy, PreviewPolicy, PublishPolicy
from evaluation.domain.errors import PolicyNotFound
from evaluation.domain.policy import Policy, PolicyVersion, in_force
from evaluation.domain.preview import Preview
from evaluation.entrypoints.deps import Bus, Now, Uow
from evaluation.entrypoints.routes import RESPONSES
from evaluation.entrypoints.schemas_policies import PolicyIn, PolicyOut, PreviewOut
from servicekit.auth import OPERATOR_ONLY, Operator
from servicekit.bounds import Identifier

Version = Annotated[Identifier, Path(description="A policy version's name, e.g. 2026.2.")]
policies = APIRouter(prefix="/policies", tags=["policies"], responses=RESPONSES,
                     dependencies=[OPERATOR_ONLY])


def _rules(policy: Policy) -> dict[str, Any]:
    return {"version": policy.version, "effective_at": policy.effective_at, **policy.rules()}


def policy_out(found: PolicyVersion, now: datetime, in_force_now: str) -> PolicyOut:
    cancelled = vars(found.cancelled) if found.cancelled else None
    return PolicyOut.model_validate({**_rules(found.policy), "state": found.state(now, in_force_now),
                                     "created": vars(found.created), "cancelled": cancelled})


def preview_out(done: Preview) -> PreviewOut:
    return PreviewOut.model_validate({
        "valid": not done.problems, "errors": [{"field": f, "reason": r} for f, r in done.problems],
        "at": done.at, "in_force_version": done.in_force.version,
        "proposed": _rules(done.proposed) if done.proposed else None,
        "applications": [{**vars(a), "difference": a.difference} for a in done.applications]})


@policies.get("", response_model=list[PolicyOut],
              summary="Every version, cancelled ones too, the latest start first, with who created or cancelled it")
async def list_policies(uow: Uow, clock: Now) -> list[PolicyOut]:
    found, live = await uow.policies.records(), await uow.policies.live()
    now = clock()
    current = in_force(live, now).version
    return [policy_out(v, now, current) for v in found]


@policies.get("/{version}", response_model=PolicyOut, summary="One policy version with its audit")
async def get_policy(version: Version, uow: Uow, clock: Now) -> PolicyOut:
    now = clock()
    found, current = await uow.policies.record(version), await uow.policies.in_force(now)
    if found is None:
        raise PolicyNotFound(f"no policy version {version}")
    return policy_out(found, now, current.version)


@policies.post("", status_code=201, response_model=PolicyOut,
               summary="Schedule a new version from `effective_at` on; rules left out carry over from the latest")
async def publish_policy(body: PolicyIn, caller: Operator, bus: Bus, clock: Now) -> PolicyOut:
    changes = body.model_dump(exclude={"version", "effective_at"}, exclude_none=True)
    cmd = PublishPolicy(version=body.version, effective_at=body.effective_at, changes=changes,
                        by=caller.client_id, role=caller.role)
    created: PolicyVersion = await bus.handle(cmd)
    # the newest live version: in force once started, so it is compared with itself
    return policy_out(created, clock(), created.policy.version)


@policies.post("/{version}/cancel", response_model=PolicyOut,
               summary="Cancel a scheduled version before its start (409 once it took effect or was cancelled)")
async def cancel_policy(version: Version, caller: Operator, bus: Bus, clock: Now) -> PolicyOut:
    done: PolicyVersion = await bus.handle(CancelPolicy(version=version, by=caller.client_id, role=caller.role))
    return policy_out(done, clock(), "")


@policies.post("/preview", response_model=PreviewOut,
               summary="What a proposed version would change, stored nowhere: its validation, and scores under it")
async def preview_policy(body: PolicyIn, bus: Bus, call_id: Annotated[UUID | None, Query()] = None,
                         limit: Annotated[int, Query(ge=1, le=200)] = 50) -> PreviewOut:
    """The body is what `POST /policies` would take. The applications are the latest `limit` scored ones (of the
    call `call_id`, e.g. an open round's), each scored from its stored submission and reviews."""
    changes = body.model_dump(exclude={"version", "effective_at"}, exclude_none=True)
    cmd = PreviewPolicy(version=body.version, effective_at=body.effective_at, changes=changes, call_id=call_id,
                        limit=limit)
    return preview_out(await bus.handle(cmd))
