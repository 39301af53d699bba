"""Which CSP may report on which server, and which CSP hosts an allocation, without a database."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from telemetry.domain.model import Allocation, Sample, Slot, foreign_lines

AT = datetime(2026, 12, 1, 10, tzinfo=UTC)


def samples_on(*servers: str) -> list[Sample]:
    return [Sample(server, 0, AT, 50.0) for server in servers]


def test_lines_on_the_reporters_own_or_on_unknown_servers_pass() -> None:
    owners = {"gov-01": {"gov"}}
    assert foreign_lines(samples_on("gov-01", "new-01"), [1, 2], owners, "gov") == []


def test_each_line_on_another_csps_server_is_named_with_its_line_number() -> None:
    owners = {"gov-01": {"gov"}, "beta-01": {"beta"}}
    found = foreign_lines(samples_on("beta-01", "gov-01", "new-01", "gov-01"), [1, 3, 4, 7], owners, "beta")
    assert found == [(3, "gov-01"), (7, "gov-01")]


def test_a_server_tracked_under_two_csps_is_refused_to_both() -> None:
    owners = {"shared-01": {"gov", "beta"}}
    assert foreign_lines(samples_on("shared-01"), [1], owners, "gov") == [(1, "shared-01")]
    assert foreign_lines(samples_on("shared-01"), [1], owners, "beta") == [(1, "shared-01")]


def test_an_allocation_is_hosted_by_each_csp_of_its_gpus() -> None:
    allocation = Allocation(id=uuid4(), application_id=uuid4(), program="P3", gpus=2, starts_at=AT,
                            ends_at=AT + timedelta(days=30), planned_gpu_hours_per_month=730,
                            slots=[Slot("gov-01", 0, "gov"), Slot("beta-01", 0, "beta")])
    assert (allocation.hosted_by("gov"), allocation.hosted_by("beta"), allocation.hosted_by("gamma")) == (
        True, True, False)
