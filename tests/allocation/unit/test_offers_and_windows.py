"""Offers' life cycle, the periods a waiting request may be offered, and the placement of a round's grants."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from allocation.domain.errors import AllocationEnded, InvalidInput, OfferClosed
from allocation.domain.model import RoundCandidate, Server, Status, allocate
from allocation.domain.offers import Offer, OfferState
from allocation.domain.rounds import choose_grant, place
from allocation.domain.windows import next_midnight, offer_periods, window_bounds

# 00:00 of the first of each month in Korea (15:00 UTC the day before)
DEC_1, JAN_1, FEB_1, MAR_1 = (datetime(2026, 11, 30, 15, tzinfo=UTC), datetime(2026, 12, 31, 15, tzinfo=UTC),
                              datetime(2027, 1, 31, 15, tzinfo=UTC), datetime(2027, 2, 28, 15, tzinfo=UTC))
NOW = datetime(2026, 11, 27, 15, 30, tzinfo=UTC)  # 00:30 on 28 November in Korea


def an_offer() -> Offer:
    return Offer(id=uuid.uuid4(), application_id=uuid.uuid4(), allocation_id=uuid.uuid4(), program="P3",
                 state=OfferState.AWAITING_RECHECK, freed_at=NOW, requested_at=NOW, planned_gpu_hours_per_month=1)


def servers(count: int, gpus: int = 8) -> list[Server]:
    return [Server(id=uuid.uuid4(), csp_id=uuid.uuid4(), csp="c", name=f"s{i}", region="r", gpu_model="H100",
                   gpus=gpus, pool="P1") for i in range(count)]


def grant(gpus: int) -> RoundCandidate:
    return RoundCandidate(application_id=uuid.uuid4(), program="P1", call_id=None, score=80, track="general",
                          institution="x", gpus=gpus, gpu_model="H100", starts_at=DEC_1, ends_at=MAR_1)


def test_an_offer_is_made_after_the_recheck_and_expires_after_its_ttl() -> None:
    offer = an_offer()
    with pytest.raises(OfferClosed):
        offer.accept(NOW)  # not made yet
    offer.make(NOW + timedelta(seconds=3), timedelta(hours=48))
    assert offer.latency_s == 3 and offer.expires_at == NOW + timedelta(hours=48, seconds=3)
    with pytest.raises(OfferClosed, match="expired"):
        offer.accept(NOW + timedelta(hours=49))
    offer.accept(NOW + timedelta(hours=1))
    assert offer.state is OfferState.ACCEPTED and not offer.pending
    with pytest.raises(OfferClosed):
        offer.close(OfferState.DECLINED, NOW)


def test_a_lapsed_hold_ends_before_it_began_and_cannot_be_taken_up() -> None:
    hold = allocate(uuid.uuid4(), uuid.uuid4(), "P3", "H100", (DEC_1, MAR_1),
                    servers(1)[0].free_slots(set())[:2], status=Status.OFFERED)
    hold.lapse("offer declined")
    assert (hold.status, hold.ended_at) == (Status.LAPSED, DEC_1)
    with pytest.raises(AllocationEnded):
        hold.take_up()


def test_a_waiver_covers_the_warnings_before_it_and_a_new_warning_rearms_the_ladder() -> None:
    held = allocate(uuid.uuid4(), uuid.uuid4(), "P3", "H100", (DEC_1, MAR_1), servers(1)[0].free_slots(set())[:1])
    held.warn(JAN_1)
    held.waive(JAN_1 + timedelta(days=1))
    assert held.reclaim_waived
    held.warn(FEB_1)
    assert not held.reclaim_waived


def test_an_offer_starts_at_the_next_midnight_in_korea_and_never_in_the_past() -> None:
    assert next_midnight(NOW) == datetime(2026, 11, 28, 15, tzinfo=UTC)  # 00:00 on 29 November in Korea
    assert next_midnight(NOW - timedelta(minutes=30)) == NOW - timedelta(minutes=30)
    assert next_midnight(datetime(2026, 11, 27, 23, 59, tzinfo=UTC)) == datetime(2026, 11, 28, 15, tzinfo=UTC)
    assert next_midnight(DEC_1) == DEC_1
    assert offer_periods((DEC_1 - timedelta(days=10), MAR_1), NOW, None, []) == [
        (datetime(2026, 11, 28, 15, tzinfo=UTC), MAR_1)]
    assert offer_periods((DEC_1, JAN_1), JAN_1, None, []) == []


def test_short_windows_are_tried_longest_first_only_when_the_applicant_accepts_them() -> None:
    windows: list[tuple[datetime | None, datetime | None]] = [
        (JAN_1, FEB_1), (FEB_1 - timedelta(days=10), MAR_1 + timedelta(days=30)), (None, DEC_1 + timedelta(5))]
    assert offer_periods((DEC_1, MAR_1), NOW, None, windows) == [(DEC_1, MAR_1)]
    assert offer_periods((DEC_1, MAR_1), NOW, 30, windows) == [
        (DEC_1, MAR_1), (FEB_1 - timedelta(days=10), MAR_1), (JAN_1, FEB_1)]


def test_window_bounds_are_whole_days_in_korea_and_in_order() -> None:
    assert window_bounds(date(2027, 1, 1), date(2027, 1, 31)) == (JAN_1, FEB_1)
    assert window_bounds(None, None) == (None, None)
    with pytest.raises(InvalidInput):
        window_bounds(date(2027, 1, 2), date(2027, 1, 1))


def test_whole_server_grants_take_whole_servers_and_gpu_grants_at_most_two_servers() -> None:
    free = [s.free_slots(set()) for s in servers(3)]
    two = choose_grant(16, free, whole_servers=True, max_servers=None)
    assert two is not None and {s.server_name for s in two} == {"s0", "s1"}
    assert choose_grant(12, free, whole_servers=True, max_servers=None) is None  # not a whole number of servers
    fragmented = [s.free_slots({0, 1, 2, 3, 4}) for s in servers(4)]  # 3 free on each of 4 servers
    assert choose_grant(9, fragmented, whole_servers=False, max_servers=2) is None
    assert choose_grant(9, fragmented, whole_servers=False, max_servers=None) is not None


def test_a_round_is_placed_largest_first_so_small_grants_do_not_split_whole_servers() -> None:
    free = [s.free_slots(set()) for s in servers(4)]
    placed, unplaced = place([grant(2), grant(16), grant(3), grant(8)], free, whole_servers=False, max_servers=2)
    assert unplaced == []
    used = {s.server_name for slots in placed.values() for s in slots}
    assert len(used) == 4 and sum(len(s) for s in placed.values()) == 29
    by_size = {len(slots): {s.server_name for s in slots} for slots in placed.values()}
    assert by_size[2] == by_size[3]  # the two small grants share one server
