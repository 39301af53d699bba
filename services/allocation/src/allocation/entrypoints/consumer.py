"""Other services' events, translated into allocation's commands.

A scored P3 application is placed at once (rolling intake); P1/P2 ones wait for their round. Telemetry warns or
reclaims; a withdrawal frees GPUs or a place in line.
"""
from __future__ import annotations

from allocation.domain.commands import (
    AddRoundCandidate,
    AllocateGpus,
    ReclaimResource,
    WarnAllocation,
    WithdrawApplication,
)
from contracts import ApplicationScored, ApplicationWithdrawn, UtilizationDropped

ROLLING_PROGRAMS = frozenset({"P3"})


def _scored(e: ApplicationScored) -> AllocateGpus | AddRoundCandidate:
    if e.program in ROLLING_PROGRAMS:
        return AllocateGpus(e.application_id, e.program, e.score, e.gpus_requested, e.gpu_model,
                            e.period_start, e.period_end, e.planned_gpu_hours_per_month)
    return AddRoundCandidate(e.application_id, e.program, e.call_id, e.score, e.track, e.institution,
                             e.gpus_requested, e.gpu_model, e.period_start, e.period_end)


def _dropped(e: UtilizationDropped) -> WarnAllocation | ReclaimResource:
    if e.level == "warning":
        return WarnAllocation(e.allocation_id, e.occurred_at)
    return ReclaimResource(e.allocation_id, "low_utilization", e.window_end, if_active=True)


TRANSLATIONS = {
    ApplicationScored: _scored,
    UtilizationDropped: _dropped,
    ApplicationWithdrawn: lambda e: WithdrawApplication(e.application_id, e.occurred_at),
}
