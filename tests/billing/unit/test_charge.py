"""The charge arithmetic: integer KRW, Decimal all the way, halves rounded up, no negative usage."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from billing.domain.model import PayerShares, ProgramCode, charge, gpu_hours_between, round_krw

START = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
FULL = Decimal(1)


def test_gpus_times_hours_times_the_tariff_is_the_market_value() -> None:
    due = charge(2, START, START + timedelta(hours=3), 4000, Decimal("0.30"))
    assert due.gpu_hours == Decimal("6")
    assert due.market_value_krw == 24_000
    assert due.payable_krw == 7_200


def test_a_market_value_ending_in_half_a_won_rounds_up_not_to_even() -> None:
    # 2.25 s on one GPU = 0.000625 GPU-hours; x 4000 KRW = 2.5 KRW, which banker's rounding would make 2
    due = charge(1, START, START + timedelta(seconds=2.25), 4000, FULL)
    assert due.gpu_hours == Decimal("0.000625")
    assert due.market_value_krw == 3


def test_a_payable_share_ending_in_half_a_won_rounds_up() -> None:
    # 15 KRW x 0.30 = 4.5 KRW → 5 (round() would give 4)
    due = charge(1, START, START + timedelta(seconds=13.5), 4000, Decimal("0.30"))
    assert due.market_value_krw == 15
    assert due.payable_krw == 5


def test_the_share_is_exact_where_binary_floats_would_lose_a_won() -> None:
    # 90 x 0.35 is 31.499999999999996 in floats, which rounds down to 31; the exact 31.5 rounds up to 32
    assert 90 * 0.35 < 31.5
    due = charge(1, START, START + timedelta(seconds=81), 4000, Decimal("0.35"))
    assert due.market_value_krw == 90
    assert due.payable_krw == 32


def test_an_end_before_the_start_is_clamped_to_no_usage_and_no_charge() -> None:
    due = charge(8, START, START - timedelta(hours=5), 4000, Decimal("0.30"))
    assert due.gpu_hours == Decimal(0)
    assert (due.market_value_krw, due.payable_krw) == (0, 0)


def test_gpu_hours_are_exact_to_the_micro_gpu_hour_from_integer_microseconds() -> None:
    # one GPU for one second is 1/3600 GPU-hour = 0.000277777… → 0.000278
    assert gpu_hours_between(1, START, START + timedelta(seconds=1)) == Decimal("0.000278")
    # a long allocation loses nothing to float seconds: 16 GPUs for 90 days and one microsecond
    long = gpu_hours_between(16, START, START + timedelta(days=90, microseconds=1))
    assert long == Decimal("34560.000000")


def test_a_free_program_charges_the_market_value_but_nothing_payable() -> None:
    due = charge(8, START, START + timedelta(hours=24), 4000, Decimal("0.0"))
    assert due.market_value_krw == 768_000
    assert due.payable_krw == 0


def test_round_krw_rounds_halves_up_and_returns_an_int() -> None:
    assert round_krw(Decimal("0.5")) == 1
    assert round_krw(Decimal("2.5")) == 3
    assert round_krw(Decimal("2.4999")) == 2
    assert isinstance(round_krw(Decimal("7")), int)


SHARES = PayerShares(p1_user_share=Decimal("0.30"), p2_user_share=Decimal("0.0"), p3_user_share=Decimal("0.0"),
                     p1_youth_discount=Decimal("0.5"))


@pytest.mark.parametrize(("program", "share"), [("P1", Decimal("0.30")), ("P2", Decimal(0)), ("P3", Decimal(0))])
def test_each_program_has_its_own_user_share(program: ProgramCode, share: Decimal) -> None:
    assert SHARES.for_program(program) == share


def test_the_youth_discount_halves_the_p1_share_only() -> None:
    assert SHARES.for_program("P1", youth=True) == Decimal("0.15")
    assert SHARES.for_program("P3", youth=True) == Decimal(0)
