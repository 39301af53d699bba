"""Which CSP may report on which server, which samples a batch may store, how hosts become servers, and which CSP
hosts an allocation, without a database."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from support.auth import csp_id
from telemetry.domain.model import Allocation, Policy, Sample, Slot, renamed, triage

AT = datetime(2026, 12, 1, 10, tzinfo=UTC)
EARLIEST, LATEST = AT - timedelta(hours=2), AT + timedelta(minutes=5)


def samples_on(*servers: str) -> list[Sample]:
    return [Sample(server, 0, AT, 50.0) for server in servers]


def foreign_lines(samples: list[Sample], lines: list[int], owners: dict[str, set[str]],
                  csp: str) -> list[tuple[int, str]]:
    """(line, server) of each sample the batch may not hold for being on another CSP's server (CSPs named by the ids
    csp_id() gives their names)."""
    by_id = {server: {csp_id(name) for name in names} for server, names in owners.items()}
    found = triage(samples, lines, earliest=EARLIEST, latest=LATEST, owners=by_id, csp_id=csp_id(csp)).foreign
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


def test_a_batch_is_sorted_into_future_late_foreign_and_kept_in_that_order_of_precedence() -> None:
    owners = {"gov-01": {csp_id("gov")}, "beta-01": {csp_id("beta")}}
    ahead, behind = LATEST + timedelta(microseconds=1), EARLIEST - timedelta(microseconds=1)
    batch = [Sample("beta-01", 0, ahead, 1.0),  # future, though on another CSP's server
             Sample("beta-01", 0, behind, 2.0),  # late, though on another CSP's server
             Sample("gov-01", 0, behind, 3.0),  # late on its own server
             Sample("beta-01", 0, AT, 4.0),  # foreign
             Sample("gov-01", 0, LATEST, 5.0),  # kept: at the latest instant allowed
             Sample("new-01", 0, EARLIEST, 6.0),  # kept: at the earliest instant allowed, on nobody's server
             Sample("new-01", 1, ahead, 7.0)]  # future
    sorted_out = triage(batch, [1, 2, 3, 4, 5, 6, 7], earliest=EARLIEST, latest=LATEST, owners=owners,
                        csp_id=csp_id("gov"))
    assert sorted_out.future == ((1, batch[0]), (7, batch[6]))
    assert sorted_out.late == ((2, batch[1]), (3, batch[2]))
    assert sorted_out.foreign == ((4, batch[3]),)
    assert sorted_out.kept == (batch[4], batch[5])


def test_the_latest_instant_allowed_is_the_clock_plus_its_skew() -> None:
    assert Policy(max_clock_skew_s=300).latest_instant(AT) == AT + timedelta(minutes=5)
    assert Policy(max_clock_skew_s=0).latest_instant(AT) == AT
    assert Policy(max_clock_skew_s=300).latest_instant(datetime.max.replace(tzinfo=UTC)).year == 9999


def test_the_earliest_instant_allowed_is_the_clock_less_its_lateness() -> None:
    assert Policy(lateness_s=7200).earliest_instant(AT) == AT - timedelta(hours=2)
    assert Policy().earliest_instant(AT) == AT - timedelta(hours=2)
    assert Policy(lateness_s=7200).earliest_instant(datetime.min.replace(tzinfo=UTC)) == datetime.min.replace(
        tzinfo=UTC)


def test_samples_named_by_host_take_their_mapped_server_or_keep_their_name() -> None:
    named = renamed(samples_on("dgx-a17", "gov-02"), {}, {"dgx-a17": "gov-01", "other": "gov-09"})
    assert [(s.server_name, s.gpu_index) for s in named] == [("gov-01", 0), ("gov-02", 0)]


def test_a_gpu_registered_by_its_uuid_takes_the_server_and_index_it_is_registered_under() -> None:
    batch = [Sample("dgx-a17", 3, AT, 10.0, memory_used_mib=512.0, power_w=250.0), Sample("dgx-a17", 0, AT, 20.0),
             Sample("dgx-b02", 3, AT, 30.0)]
    moved = {("dgx-a17", 3): ("gov-07", 1)}
    named = renamed(batch, moved, {"dgx-a17": "gov-01"})
    assert named == (Sample("gov-07", 1, AT, 10.0, memory_used_mib=512.0, power_w=250.0),  # the UUID wins
                     Sample("gov-01", 0, AT, 20.0),  # the host mapping for the host's other GPUs
                     Sample("dgx-b02", 3, AT, 30.0))  # an unmapped host is its own server


def test_an_allocation_is_hosted_by_each_csp_of_its_gpus() -> None:
    allocation = Allocation(id=uuid4(), application_id=uuid4(), program="P3", gpus=3, starts_at=AT,
                            ends_at=AT + timedelta(days=30), planned_gpu_hours_per_month=730,
                            slots=[Slot("gov-01", 0, "gov", csp_id=csp_id("gov")),
                                   Slot("beta-01", 0, "beta", csp_id=csp_id("beta")),
                                   Slot("gov-01", 1, "gov", csp_id=csp_id("gov")), Slot("old-01", 0)])
    assert (allocation.hosted_by(csp_id("gov")), allocation.hosted_by(csp_id("beta")),
            allocation.hosted_by(csp_id("gamma"))) == (True, True, False)
    assert allocation.csps == ["beta", "gov"]


def test_a_csp_is_known_by_its_id_and_never_by_a_name_it_shares_with_another() -> None:
    theirs = Slot("gov-01", 0, "gov", csp_id=csp_id("gov"))
    allocation = Allocation(id=uuid4(), application_id=uuid4(), program="P3", gpus=1, starts_at=AT,
                            ends_at=AT + timedelta(days=30), planned_gpu_hours_per_month=730, slots=[theirs])
    impostor = csp_id("another CSP that calls itself gov")
    assert not allocation.hosted_by(impostor)
    owners = {"gov-01": {theirs.csp_id} if theirs.csp_id else set()}
    found = triage(samples_on("gov-01"), [1], earliest=EARLIEST, latest=LATEST, owners=owners, csp_id=impostor)
    assert [(line, s.server_name) for line, s in found.foreign] == [(1, "gov-01")]


def test_a_slot_tracked_before_ids_were_carried_is_hosted_by_no_csp() -> None:
    allocation = Allocation(id=uuid4(), application_id=uuid4(), program="P3", gpus=1, starts_at=AT,
                            ends_at=AT + timedelta(days=30), planned_gpu_hours_per_month=730,
                            slots=[Slot("gov-01", 0, "gov")])
    assert not allocation.hosted_by(csp_id("gov"))
