"""Other services' events, translated into allocation's commands.

A scored P3 application is placed at once (rolling intake); P1/P2 ones wait for their round, selected when the round
is scored. Evaluation's rejections and re-check answers, the partner's answers to offers, telemetry's warnings and
reclaims, and withdrawals each become a command.
"""
from __future__ import annotations

from allocation.domain.commands import (
    AcceptOffer,
    AddRoundCandidate,
    AllocateGpus,
    ConfirmEligibility,
    DeclineOffer,
    ExcludeApplication,
    ReclaimResource,
    RecordRecovery,
    SelectRound,
    WarnAllocation,
    WithdrawApplication,
)
from allocation.domain.whatif import region_class
from contracts import (
    ApplicationRejected,
    ApplicationScored,
    ApplicationWithdrawn,
    EligibilityConfirmed,
    OfferAccepted,
    OfferDeclined,
    RoundScored,
    UtilizationDropped,
    UtilizationRecovered,
)
from servicekit.worker import Translations

ROLLING_PROGRAMS = frozenset({"P3"})


def on_scored(e: ApplicationScored) -> AllocateGpus | AddRoundCandidate:
    if e.program in ROLLING_PROGRAMS:
        return AllocateGpus(e.application_id, e.program, e.score, e.gpus_requested, e.gpu_model,
                            e.period_start, e.period_end, e.planned_gpu_hours_per_month, e.acceptable_window_months)
    return AddRoundCandidate(e.application_id, e.program, e.call_id, e.score, e.track, e.institution,
                             e.gpus_requested, e.gpu_model, e.period_start, e.period_end,
                             e.planned_gpu_hours_per_month, _region_class(e), e.sector,
                             {str(k): v for k, v in e.bonuses.items()},
                             {str(k): v for k, v in e.rubric_means.items()})


def _region_class(e: ApplicationScored) -> str | None:
    """Read from the facts; unknown (None) from publishers before the sector was sent, whose facts may be missing."""
    return region_class(e.facts) if e.sector is not None else None


def on_round_scored(e: RoundScored) -> SelectRound:
    return SelectRound(e.call_id, e.program, tuple(e.scored), tuple(e.rejected), e.occurred_at)


def on_rejected(e: ApplicationRejected) -> ExcludeApplication:
    return ExcludeApplication(e.application_id, "; ".join(e.failed_rules), e.occurred_at, e.offer_id)


def on_eligibility_confirmed(e: EligibilityConfirmed) -> ConfirmEligibility:
    return ConfirmEligibility(e.application_id, e.offer_id, e.occurred_at)


def on_offer_accepted(e: OfferAccepted) -> AcceptOffer:
    return AcceptOffer(e.application_id, e.offer_id, e.occurred_at)


def on_offer_declined(e: OfferDeclined) -> DeclineOffer:
    return DeclineOffer(e.application_id, e.offer_id, e.occurred_at)


def on_utilization_dropped(e: UtilizationDropped) -> WarnAllocation | ReclaimResource:
    if e.level == "warning":
        return WarnAllocation(e.allocation_id, e.occurred_at)
    return ReclaimResource(e.allocation_id, "low_utilization", e.window_end, if_active=True)


def on_utilization_recovered(e: UtilizationRecovered) -> RecordRecovery:
    return RecordRecovery(e.allocation_id, e.occurred_at)


def on_withdrawn(e: ApplicationWithdrawn) -> WithdrawApplication:
    return WithdrawApplication(e.application_id, e.occurred_at)


TRANSLATIONS: Translations = {
    ApplicationScored: on_scored,
    RoundScored: on_round_scored,
    ApplicationRejected: on_rejected,
    EligibilityConfirmed: on_eligibility_confirmed,
    OfferAccepted: on_offer_accepted,
    OfferDeclined: on_offer_declined,
    UtilizationDropped: on_utilization_dropped,
    UtilizationRecovered: on_utilization_recovered,
    ApplicationWithdrawn: on_withdrawn,
}
