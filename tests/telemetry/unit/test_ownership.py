"""Which CSP may report on which server, and which CSP hosts an allocation, without a database."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from telemetry.domain.model import (
    Allocation,
    Policy,
    Sample,
    Slot,
    held_by_none,
    on_servers,
    triage,
)

AT = datetime(2026, 12, 1, 10, tzinfo=UTC)


def samples_on(*servers: str) -> list[Sample]:
    return [Sample(server, 0, AT, 50.0) for server in servers]


def foreign_lines(samples: list[Sample], lines: list[int], owners: dict[str, set[str]],
                  csp: str) -> list[tuple[int, str]]:
    """(line, server) of each sample the batch may not hold for being on another CSP's server."""
    found = triage(samples, lines, latest=AT, owners=owners, csp=csp).foreign
    return [(line, sample.server_name) for line, sample in found]


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


def test_a_batch_is_sorted_into_kept_future_and_foreign_with_each_line() -> None:
    owners = {"gov-01": {"gov"}, "beta-01": {"beta"}}
    later = AT + timedelta(minutes=6)
    batch = [Sample("gov-01", 0, AT, 1.0), Sample("beta-01", 0, AT, 2.0), Sample("beta-01", 0, later, 3.0),
             Sample("new-01", 0, later, 4.0), Sample("new-01", 0, AT, 5.0)]
    sorted_out = triage(batch, [1, 2, 3, 4, 5], latest=AT + timedelta(minutes=5), owners=owners, csp="gov")
    assert sorted_out.kept == (batch[0], batch[4])
    assert sorted_out.future == ((3, batch[2]), (4, batch[3]))  # in the future, whoever's server it names
    assert sorted_out.foreign == ((2, batch[1]),)


def test_the_latest_instant_allowed_is_the_clock_plus_its_skew() -> None:
    assert Policy(max_clock_skew_s=300).latest_instant(AT) == AT + timedelta(minutes=5)
    assert Policy(max_clock_skew_s=0).latest_instant(AT) == AT
    assert Policy(max_clock_skew_s=300).latest_instant(datetime.max.replace(tzinfo=UTC)).year == 9999


def test_samples_named_by_host_take_their_mapped_server_or_keep_their_name() -> None:
    renamed = on_servers(samples_on("dgx-a17", "gov-02"), {"dgx-a17": "gov-01", "other": "gov-09"})
    assert [s.server_name for s in renamed] == ["gov-01", "gov-02"]


def test_samples_no_allocation_held_at_their_instant_are_counted() -> None:
    allocation = Allocation(id=uuid4(), application_id=uuid4(), program="P3", gpus=1, starts_at=AT,
                            ends_at=AT + timedelta(days=30), planned_gpu_hours_per_month=730,
                            slots=[Slot("gov-01", 0, "gov")])
    before, after = AT - timedelta(seconds=1), AT + timedelta(days=30)
    batch = [Sample("gov-01", 0, AT, 1.0), Sample("gov-01", 1, AT, 1.0), Sample("gov-01", 0, before, 1.0),
             Sample("gov-02", 0, AT, 1.0), Sample("gov-01", 0, after, 1.0)]
    assert held_by_none(batch, [allocation]) == 4
    assert held_by_none(batch, []) == 5
