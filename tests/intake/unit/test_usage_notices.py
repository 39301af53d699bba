"""Telemetry's events, as intake tells the partner: a warning and a recovery with their numbers; a reclaim call is
left to allocation's ResourceReclaimed, which changes the status. An operator's waiver of the reclaim is a notice
too."""
from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from contracts import ReclaimWaived, UtilizationDropped, UtilizationRecovered
from intake.domain.commands import NotifyUsage
from intake.entrypoints.consumer import TRANSLATIONS

START, END = datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 1, 8, tzinfo=UTC)  # 09:00 in Korea


def test_a_warning_tells_the_partner_the_utilization_the_threshold_and_the_window() -> None:
    event = UtilizationDropped(application_id=uuid4(), allocation_id=uuid4(), level="warning", utilization_pct=4.25,
                               threshold_pct=15, window_start=START, window_end=END)
    notice = TRANSLATIONS[UtilizationDropped](event)
    assert isinstance(notice, NotifyUsage)
    assert (notice.application_id, notice.at) == (event.application_id, event.occurred_at)
    assert notice.reason.startswith("utilization warning: 4.2% from 2027-01-01 09:00 KST to 2027-01-08 09:00 KST")
    assert "threshold of 15.0%" in notice.reason and "reclaimed after the grace period" in notice.reason


def test_a_warning_of_the_gpu_hours_rule_tells_the_gpu_hours_used_required_and_planned() -> None:
    event = UtilizationDropped(application_id=uuid4(), allocation_id=uuid4(), level="warning", utilization_pct=20,
                               threshold_pct=15, rule="gpu_hours_below_plan", actual_gpu_hours=403.2,
                               required_gpu_hours=460.27, planned_gpu_hours=920.55, window_start=START,
                               window_end=END)
    notice = TRANSLATIONS[UtilizationDropped](event)
    assert isinstance(notice, NotifyUsage)
    assert notice.reason.startswith("utilization warning: 403.2 GPU-hours used from 2027-01-01 09:00 KST to "
                                    "2027-01-08 09:00 KST, below the 460.3 required of the 920.5 planned")


def test_the_call_to_reclaim_is_not_a_notice() -> None:
    event = UtilizationDropped(application_id=uuid4(), allocation_id=uuid4(), level="reclaim", utilization_pct=4,
                               threshold_pct=15, window_start=START, window_end=END)
    assert TRANSLATIONS[UtilizationDropped](event) is None


def test_a_recovery_tells_the_partner_the_warning_is_lifted() -> None:
    event = UtilizationRecovered(application_id=uuid4(), allocation_id=uuid4(), utilization_pct=31.5,
                                 threshold_pct=15, window_start=START, window_end=END)
    notice = TRANSLATIONS[UtilizationRecovered](event)
    assert isinstance(notice, NotifyUsage)
    assert notice.reason.startswith("utilization recovered: 31.5%") and "warning is lifted" in notice.reason


def test_a_waived_reclaim_tells_the_partner_the_gpus_stay_until_a_new_warning() -> None:
    event = ReclaimWaived(application_id=uuid4(), allocation_id=uuid4(), waived_at=END)
    notice = TRANSLATIONS[ReclaimWaived](event)
    assert isinstance(notice, NotifyUsage)
    assert (notice.application_id, notice.at) == (event.application_id, END)
    assert notice.reason.startswith("reclaim waived by an operator") and "new warning" in notice.reason
