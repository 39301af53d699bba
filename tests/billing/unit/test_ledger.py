"""The ledger's arithmetic by hand: exact shares rounded once, half-up; periods cut at Korean month starts and price
changes; an append-only ledger reconciled to what is owed; monthly invoices and credit notes drawn from it.

Every amount below is worked out in the comment above it, never by the code under test."""
from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime
from fractions import Fraction
from typing import Any
from uuid import UUID, uuid4, uuid5

from billing.domain.ledger import (
    GOVERNMENT,
    DocumentKind,
    Grant,
    Line,
    LineKey,
    MarketPrice,
    Participant,
    PriceBook,
    Profile,
    ProgramCode,
    Release,
    Shares,
    drafts,
    number,
    owed,
    reconcile,
    round_half_up,
)

from .fakes import InMemoryLedger

NCLOUD, KT = "ncloud", "kt"
H100 = "H100"
ALLOCATION = UUID("00000000-0000-4000-8000-00000000a110")
APPLICATION = UUID("00000000-0000-4000-8000-0000000a9911")
PARTNER = UUID("00000000-0000-4000-8000-0000000000a1")
OTHER_PARTNER = UUID("00000000-0000-4000-8000-0000000000b2")
BRN = "123-45-67890"
APPLICANT = f"brn:{BRN}"
GOV = GOVERNMENT.key
DOCUMENT_NAMESPACE = UUID("5b0f7c1e-4c1a-4d7e-9a57-0b1d2c3e4f50")

Segment = tuple[str, datetime, datetime]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def a_grant(*, program: ProgramCode = "P1", gpus: tuple[tuple[str, int], ...] = ((NCLOUD, 1),),
            starts: str = "2026-12-02T00:00", ends: str = "2026-12-03T00:00", ended: str | None = None) -> Grant:
    return Grant(ALLOCATION, APPLICATION, program, H100, gpus, utc(starts), utc(ends),
                 None if ended is None else utc(ended))


def a_profile(program: ProgramCode = "P1", **overrides: Any) -> Profile:
    return replace(Profile(APPLICATION, PARTNER, program, "Acme AI", BRN), **overrides)


def prices_at(krw_per_gpu_hour: int, *, default: int = 3_000) -> PriceBook:
    """nCloud's H100 at one price all year; any other CSP at the default."""
    return PriceBook([MarketPrice(NCLOUD, H100, date(2026, 1, 1), krw_per_gpu_hour)], default)


def by_segment(lines: list[Line]) -> dict[Segment, dict[str, int]]:
    """Each segment's lines as {payer key: KRW}; a payer appears once per segment."""
    out: dict[Segment, dict[str, int]] = {}
    for line in lines:
        segment = out.setdefault((line.key.csp, line.key.period_start, line.key.period_end), {})
        assert line.payer.key not in segment
        segment[line.payer.key] = line.amount_krw
    return out


def shares_of(lines: list[Line]) -> dict[str, Fraction]:
    return {line.payer.key: line.key.share for line in lines}


# --- round_half_up --------------------------------------------------------------------------------------------------

def test_halves_round_away_from_zero_never_to_even() -> None:
    # round() would give 0, 2, 0, -2: banker's rounding to the even neighbour
    assert [round_half_up(Fraction(n, 2)) for n in (1, 5, -1, -5)] == [1, 3, -1, -3]
    assert [round(Fraction(n, 2)) for n in (1, 5, -1, -5)] == [0, 2, 0, -2]
    assert round_half_up(Fraction(0)) == 0


def test_amounts_other_than_halves_round_to_the_nearest_won() -> None:
    # 7/3 = 2.33 → 2; 8/3 = 2.67 → 3; 2.4999 → 2; 2.5001 → 3, and the same mirrored below zero
    assert [round_half_up(Fraction(n, 3)) for n in (7, 8, -7, -8)] == [2, 3, -2, -3]
    assert round_half_up(Fraction(24_999, 10_000)) == 2
    assert round_half_up(Fraction(25_001, 10_000)) == 3
    assert round_half_up(Fraction(-24_999, 10_000)) == -2


def test_a_share_is_exact_where_binary_floats_would_lose_a_won() -> None:
    # 90 x 0.35 is 31.499999999999996 in floats (→ 31); exactly, 31.5 → 32
    assert round(90 * 0.35) == 31
    assert round_half_up(90 * Fraction(35, 100)) == 32
    # 1 GPU x 1 minute at 5,400 KRW/GPU-hour = 90 KRW; the applicant's 35% is 31.5 → 32, the government 90 - 32 = 58
    grant = a_grant(program="P3", starts="2026-12-02T00:00", ends="2026-12-02T00:01")
    lines = owed(grant, a_profile("P3"), PriceBook([], 5_400), Shares(p3_applicant=Fraction(35, 100)))
    assert by_segment(lines) == {(NCLOUD, utc("2026-12-02T00:00"), utc("2026-12-02T00:01")): {APPLICANT: 32, GOV: 58}}


# --- PriceBook.segments ---------------------------------------------------------------------------------------------

def test_an_allocation_is_cut_at_each_korean_month_start() -> None:
    # Seoul is UTC+9: December 1 and January 1 start at 15:00 UTC the day before
    segments = PriceBook([], 3_000).segments(NCLOUD, H100, utc("2026-11-20T00:00"), utc("2027-01-10T00:00"))
    assert segments == [
        (utc("2026-11-20T00:00"), utc("2026-11-30T15:00"), 3_000),
        (utc("2026-11-30T15:00"), utc("2026-12-31T15:00"), 3_000),
        (utc("2026-12-31T15:00"), utc("2027-01-10T00:00"), 3_000),
    ]


def test_the_korean_month_cuts_not_the_utc_month() -> None:
    book = PriceBook([], 3_000)
    # Dec 1 01:00 to Dec 31 23:00 in Seoul: one Korean month, though it starts in November in UTC
    inside = book.segments(NCLOUD, H100, utc("2026-11-30T16:00"), utc("2026-12-31T14:00"))
    assert inside == [(utc("2026-11-30T16:00"), utc("2026-12-31T14:00"), 3_000)]
    # one UTC day, but Seoul's December starts at its 15:00
    across = book.segments(NCLOUD, H100, utc("2026-11-30T10:00"), utc("2026-11-30T20:00"))
    assert across == [(utc("2026-11-30T10:00"), utc("2026-11-30T15:00"), 3_000),
                      (utc("2026-11-30T15:00"), utc("2026-11-30T20:00"), 3_000)]


def test_a_price_change_cuts_the_month_at_seoul_midnight_of_its_day_and_the_default_prices_what_comes_before() -> None:
    # the change from December 16 (Seoul) takes effect at 2026-12-15T15:00Z; before it, no price: the default 4,000
    book = PriceBook([MarketPrice(NCLOUD, H100, date(2026, 12, 16), 5_000)], 4_000)
    assert book.segments(NCLOUD, H100, utc("2026-12-10T00:00"), utc("2026-12-20T00:00")) == [
        (utc("2026-12-10T00:00"), utc("2026-12-15T15:00"), 4_000),
        (utc("2026-12-15T15:00"), utc("2026-12-20T00:00"), 5_000),
    ]


def test_a_price_in_force_before_the_start_prices_the_whole_period_without_a_cut() -> None:
    book = PriceBook([MarketPrice(NCLOUD, H100, date(2026, 6, 1), 4_500),
                      MarketPrice(NCLOUD, H100, date(2026, 1, 1), 4_000)], 3_000)
    assert book.segments(NCLOUD, H100, utc("2026-12-10T00:00"), utc("2026-12-20T00:00")) == [
        (utc("2026-12-10T00:00"), utc("2026-12-20T00:00"), 4_500)]


def test_another_csps_or_another_models_price_neither_cuts_nor_prices_the_period() -> None:
    book = PriceBook([MarketPrice(KT, H100, date(2026, 12, 16), 9_000),
                      MarketPrice(NCLOUD, "A100", date(2026, 12, 16), 9_000)], 4_000)
    assert book.segments(NCLOUD, H100, utc("2026-12-10T00:00"), utc("2026-12-20T00:00")) == [
        (utc("2026-12-10T00:00"), utc("2026-12-20T00:00"), 4_000)]


def test_a_start_on_a_month_start_makes_no_empty_segment_and_an_empty_period_no_segment() -> None:
    book = PriceBook([MarketPrice(NCLOUD, H100, date(2026, 12, 1), 5_000)], 4_000)
    # Seoul's December 1 at midnight is both a month start and the day of a price change
    assert book.segments(NCLOUD, H100, utc("2026-11-30T15:00"), utc("2026-12-02T00:00")) == [
        (utc("2026-11-30T15:00"), utc("2026-12-02T00:00"), 5_000)]
    assert book.segments(NCLOUD, H100, utc("2026-12-02T00:00"), utc("2026-12-02T00:00")) == []


# --- owed -----------------------------------------------------------------------------------------------------------

DAY: Segment = (NCLOUD, utc("2026-12-02T00:00"), utc("2026-12-03T00:00"))
FIVE_HOURS: Segment = (NCLOUD, utc("2026-12-02T00:00"), utc("2026-12-02T05:00"))


def test_a_p1_applicant_pays_30_percent_and_the_government_the_rest() -> None:
    # 4 GPUs x 1,440 min = 5,760 GPU-min; x 3,333 KRW / 60 = 96 x 3,333 = 319,968 KRW
    # applicant 30%: 95,990.4 → 95,990; government 319,968 - 95,990 = 223,978
    lines = owed(a_grant(gpus=((NCLOUD, 4),)), a_profile(), prices_at(3_333), Shares())
    assert by_segment(lines) == {DAY: {APPLICANT: 95_990, GOV: 223_978}}
    assert shares_of(lines) == {APPLICANT: Fraction(3, 10), GOV: Fraction(7, 10)}
    assert {(line.gpu_minutes, line.key.gpus, line.key.krw_per_gpu_hour) for line in lines} == {(5_760, 4, 3_333)}
    assert {(line.application_id, line.partner_id, line.program) for line in lines} == {(APPLICATION, PARTNER, "P1")}


def test_a_youth_p1_applicant_pays_half_of_30_percent() -> None:
    # 319,968 KRW as above; 15%: 47,995.2 → 47,995; government 319,968 - 47,995 = 271,973
    lines = owed(a_grant(gpus=((NCLOUD, 4),)), a_profile(youth=True), prices_at(3_333), Shares())
    assert by_segment(lines) == {DAY: {APPLICANT: 47_995, GOV: 271_973}}
    assert shares_of(lines) == {APPLICANT: Fraction(3, 20), GOV: Fraction(17, 20)}


P2_GRANT = a_grant(program="P2", gpus=((NCLOUD, 2),), ends="2026-12-02T05:00")
LARGE = Participant("Hanbit Semiconductor", "large", "220-81-00001")
MID = Participant("  Seoul   Robotics ", "mid")
SMALL = Participant("Jeju Vision", "small", "616-86-00003")
LARGE_KEY, MID_KEY, SMALL_KEY = "brn:220-81-00001", "org:seoul robotics", "brn:616-86-00003"


def test_p2_participants_pay_their_size_share_of_their_basis_points_and_the_academic_applicant_nothing() -> None:
    # 2 GPUs x 300 min = 600 GPU-min; x 4,102 KRW / 60 = 41,020 KRW
    # large 25% x 50% = 1/8: 5,127.5 → 5,128; mid 15% x 30% = 9/200: 1,845.9 → 1,846;
    # small 7.5% x 20% = 3/200: 615.3 → 615; government 41,020 - (5,128 + 1,846 + 615 = 7,589) = 33,431
    profile = a_profile("P2", organisation="KAIST", business_registration_number=None, participants=(
        replace(LARGE, project_share_bp=5_000), replace(MID, project_share_bp=3_000),
        replace(SMALL, project_share_bp=2_000)))
    lines = owed(P2_GRANT, profile, prices_at(4_102), Shares())
    assert by_segment(lines) == {FIVE_HOURS: {LARGE_KEY: 5_128, MID_KEY: 1_846, SMALL_KEY: 615, GOV: 33_431}}
    # the government's share is 1 - (25 + 9 + 3)/200 = 163/200
    assert shares_of(lines) == {LARGE_KEY: Fraction(1, 8), MID_KEY: Fraction(9, 200), SMALL_KEY: Fraction(3, 200),
                                GOV: Fraction(163, 200)}
    assert "org:kaist" not in shares_of(lines)


def test_p2_participants_without_basis_points_split_the_project_equally_in_exact_thirds() -> None:
    # 41,020 KRW as above; each a third: large 1/4 x 1/3 = 1/12: 3,418.33 → 3,418; mid 3/20 x 1/3 = 1/20: 2,051;
    # small 3/40 x 1/3 = 1/40: 1,025.5 → 1,026; government 41,020 - 6,495 = 34,525, share 1 - 19/120 = 101/120
    lines = owed(P2_GRANT, a_profile("P2", participants=(LARGE, MID, SMALL)), prices_at(4_102), Shares())
    assert by_segment(lines) == {FIVE_HOURS: {LARGE_KEY: 3_418, MID_KEY: 2_051, SMALL_KEY: 1_026, GOV: 34_525}}
    assert shares_of(lines) == {LARGE_KEY: Fraction(1, 12), MID_KEY: Fraction(1, 20), SMALL_KEY: Fraction(1, 40),
                                GOV: Fraction(101, 120)}


def test_one_participant_without_basis_points_makes_the_split_equal() -> None:
    # halves: large 1/4 x 1/2 = 1/8 of 41,020 = 5,127.5 → 5,128; mid 3/20 x 1/2 = 3/40: 3,076.5 → 3,077;
    # government 41,020 - 8,205 = 32,815
    participants = (replace(LARGE, project_share_bp=7_000), MID)
    lines = owed(P2_GRANT, a_profile("P2", participants=participants), prices_at(4_102), Shares())
    assert by_segment(lines) == {FIVE_HOURS: {LARGE_KEY: 5_128, MID_KEY: 3_077, GOV: 32_815}}


def test_after_a_release_p2_participants_owe_nothing_and_the_government_pays_the_whole_market_value() -> None:
    release = Release("https://github.com/kaist/model", date(2026, 12, 20), uuid4())
    lines = owed(P2_GRANT, a_profile("P2", participants=(LARGE, MID, SMALL), release=release), prices_at(4_102),
                 Shares())
    assert by_segment(lines) == {FIVE_HOURS: {GOV: 41_020}}
    assert shares_of(lines) == {GOV: Fraction(1)}


def test_p3_pays_the_share_the_settings_give_it() -> None:
    grant = replace(P2_GRANT, program="P3")
    # 10% of 41,020 = 4,102; government 36,918 (9/10)
    lines = owed(grant, a_profile("P3"), prices_at(4_102), Shares(p3_applicant=Fraction(1, 10)))
    assert by_segment(lines) == {FIVE_HOURS: {APPLICANT: 4_102, GOV: 36_918}}
    assert shares_of(lines) == {APPLICANT: Fraction(1, 10), GOV: Fraction(9, 10)}
    # by default P3 is free: no applicant line, the government's line alone
    assert by_segment(owed(grant, a_profile("P3"), prices_at(4_102), Shares())) == {FIVE_HOURS: {GOV: 41_020}}


def test_a_reclaim_bills_to_the_minute_and_not_the_seconds_of_a_started_minute() -> None:
    # reclaimed at 10:17:45: 10 h 17 min = 617 min x 3 GPUs = 1,851 GPU-min; x 4,000 / 60 = 123,400 KRW
    # applicant 30% = 37,020; government 86,380
    grant = a_grant(gpus=((NCLOUD, 3),), ends="2026-12-09T00:00", ended="2026-12-02T10:17:45")
    lines = owed(grant, a_profile(), prices_at(4_000), Shares())
    assert by_segment(lines) == {(NCLOUD, utc("2026-12-02T00:00"), utc("2026-12-02T10:17")): {APPLICANT: 37_020,
                                                                                              GOV: 86_380}}
    assert {line.gpu_minutes for line in lines} == {1_851}


def test_a_reclaim_after_the_end_bills_the_period_and_one_before_the_start_bills_nothing() -> None:
    after = a_grant(ended="2026-12-05T00:00")
    # 1 GPU x 1,440 min x 4,000 / 60 = 96,000; 30% = 28,800; government 67,200
    assert by_segment(owed(after, a_profile(), prices_at(4_000), Shares())) == {DAY: {APPLICANT: 28_800,
                                                                                      GOV: 67_200}}
    before = a_grant(ended="2026-12-01T23:59:59")
    assert owed(before, a_profile(), prices_at(4_000), Shares()) == []


def test_a_price_change_mid_month_splits_the_segment_at_seoul_midnight() -> None:
    # Dec 10 00:00Z to Dec 15 15:00Z = 5 d 15 h = 8,100 min x 4,000 / 60 = 540,000; 30% = 162,000; gov 378,000
    # Dec 15 15:00Z to Dec 20 00:00Z = 4 d 9 h = 6,300 min x 5,000 / 60 = 525,000; 30% = 157,500; gov 367,500
    book = PriceBook([MarketPrice(NCLOUD, H100, date(2026, 1, 1), 4_000),
                      MarketPrice(NCLOUD, H100, date(2026, 12, 16), 5_000)], 3_000)
    lines = owed(a_grant(starts="2026-12-10T00:00", ends="2026-12-20T00:00"), a_profile(), book, Shares())
    assert by_segment(lines) == {
        (NCLOUD, utc("2026-12-10T00:00"), utc("2026-12-15T15:00")): {APPLICANT: 162_000, GOV: 378_000},
        (NCLOUD, utc("2026-12-15T15:00"), utc("2026-12-20T00:00")): {APPLICANT: 157_500, GOV: 367_500},
    }
    assert [line.gpu_minutes for line in lines] == [8_100, 8_100, 6_300, 6_300]


def test_an_allocation_across_two_csps_owes_per_csp_at_each_csps_price() -> None:
    # 10 h: nCloud 2 GPUs = 1,200 GPU-min x 4,000 / 60 = 80,000; 30% = 24,000; gov 56,000
    #       KT 1 GPU = 600 GPU-min x 3,000 (the default) / 60 = 30,000; 30% = 9,000; gov 21,000
    grant = a_grant(gpus=((NCLOUD, 2), (KT, 1)), ends="2026-12-02T10:00")
    lines = owed(grant, a_profile(), prices_at(4_000, default=3_000), Shares())
    start, end = utc("2026-12-02T00:00"), utc("2026-12-02T10:00")
    assert by_segment(lines) == {(NCLOUD, start, end): {APPLICANT: 24_000, GOV: 56_000},
                                 (KT, start, end): {APPLICANT: 9_000, GOV: 21_000}}


def test_every_segment_has_a_government_line_and_its_lines_add_up_to_its_market_value() -> None:
    # Nov 20 00:00Z to Nov 30 15:00Z = 10 d 15 h = 15,300 min; Nov 30 15:00Z to Dec 10 00:00Z = 9 d 9 h = 13,500 min
    # x 3 GPUs x 4,444 KRW / 60: 45,900 x 4,444 / 60 = 3,399,660; 40,500 x 4,444 / 60 = 2,999,700
    # P3 at 100%: the applicant pays it all and the government's line stands at 0 KRW
    # a third: 1,133,220 and 999,900 exactly, the government the other two thirds
    grant = a_grant(program="P3", gpus=((NCLOUD, 3),), starts="2026-11-20T00:00", ends="2026-12-10T00:00")
    november = (NCLOUD, utc("2026-11-20T00:00"), utc("2026-11-30T15:00"))
    december = (NCLOUD, utc("2026-11-30T15:00"), utc("2026-12-10T00:00"))
    expected = {
        Fraction(0): {november: {GOV: 3_399_660}, december: {GOV: 2_999_700}},
        Fraction(1, 3): {november: {APPLICANT: 1_133_220, GOV: 2_266_440},
                         december: {APPLICANT: 999_900, GOV: 1_999_800}},
        Fraction(1): {november: {APPLICANT: 3_399_660, GOV: 0}, december: {APPLICANT: 2_999_700, GOV: 0}},
    }
    for share, segments in expected.items():
        lines = owed(grant, a_profile("P3"), prices_at(4_444), Shares(p3_applicant=share))
        assert by_segment(lines) == segments
        assert {s: sum(payers.values()) for s, payers in by_segment(lines).items()} == {november: 3_399_660,
                                                                                        december: 2_999_700}


def test_the_lines_of_a_segment_add_up_to_its_market_value_even_when_the_payers_shares_round_up_past_it() -> None:
    # 1 GPU x 1 min at 60 KRW/GPU-hour = 1 KRW; the applicant's half (0.5 → 1) and the participant's half (0.5 → 1)
    # would make 2 KRW for a segment worth 1 KRW: the last payer (the participant) gives up the excess won
    shares = Shares(p2_applicant=Fraction(1, 2), p2_participant={"large": Fraction(1, 2), "mid": Fraction(0),
                                                                  "small": Fraction(0)})
    grant = a_grant(program="P2", ends="2026-12-02T00:01")
    lines = owed(grant, a_profile("P2", participants=(LARGE,)), PriceBook([], 60), shares)
    assert sum(line.amount_krw for line in lines) == 1
    assert sorted((line.payer.kind.value, line.amount_krw) for line in lines) == [("applicant", 1),
                                                                                 ("government", 0)]


# --- reconcile ------------------------------------------------------------------------------------------------------

WEEK = a_grant(starts="2026-12-02T00:00", ends="2026-12-09T00:00")


def owed_now(grant: Grant = WEEK, profile: Profile | None = None, book: PriceBook | None = None,
             shares: Shares | None = None) -> list[Line]:
    return owed(grant, profile or a_profile(), book or prices_at(4_000), shares or Shares())


def wanted(lines: list[Line]) -> dict[LineKey, int]:
    return {line.key: line.amount_krw for line in lines}


def test_on_an_empty_ledger_every_owed_line_is_posted_in_key_order() -> None:
    lines = owed_now()
    assert reconcile(lines, {}) == sorted(lines, key=lambda line: line.key)


def test_the_same_facts_twice_post_nothing_the_second_time() -> None:
    ledger = InMemoryLedger()
    first = ledger.post(ALLOCATION, owed_now())
    assert len(first) == 2
    assert ledger.post(ALLOCATION, owed_now()) == []
    assert len(ledger.entries) == 2


def test_a_reclaim_reverses_the_lines_that_no_longer_hold_and_posts_the_shorter_ones() -> None:
    # the week: 1 GPU x 10,080 min x 4,000 / 60 = 672,000; 30% = 201,600; government 470,400
    # reclaimed at Dec 3 00:00:30 → 1,440 min: 96,000; 30% = 28,800; government 67,200
    ledger = InMemoryLedger()
    ledger.post(ALLOCATION, owed_now())
    reclaimed = replace(WEEK, ended_at=utc("2026-12-03T00:00:30"))
    new = ledger.post(ALLOCATION, owed_now(reclaimed))
    # reversals first, then charges, each in key order (the applicant's "brn:…" before "government")
    assert [(line.payer.key, line.key.period_end, line.amount_krw) for line in new] == [
        (APPLICANT, utc("2026-12-09T00:00"), -201_600), (GOV, utc("2026-12-09T00:00"), -470_400),
        (APPLICANT, utc("2026-12-03T00:00"), 28_800), (GOV, utc("2026-12-03T00:00"), 67_200),
    ]
    assert ledger.standing() == wanted(owed_now(reclaimed))
    assert sorted(ledger.nets().values()) == [0, 0, 28_800, 67_200]


def test_a_government_line_whose_key_stays_but_whose_amount_changes_is_reversed_and_posted_again() -> None:
    # 1 GPU x 1 min at 240 KRW/GPU-hour = 4 KRW; two large participants, the government's share 1 - 2/8 = 3/4 both times
    # 50/50: each 4 x 1/8 = 0.5 → 1; government 4 - 2 = 2
    # 25/75: 4 x 1/16 = 0.25 → 0 (no line), 4 x 3/16 = 0.75 → 1; government 4 - 1 = 3, on the same key
    grant = a_grant(program="P2", ends="2026-12-02T00:01")
    book = PriceBook([], 240)

    def parts(large: int, small: int) -> list[Line]:
        profile = a_profile("P2", participants=(replace(LARGE, project_share_bp=large),
                                                replace(SMALL, size="large", project_share_bp=small)))
        return owed(grant, profile, book, Shares())

    ledger = InMemoryLedger()
    ledger.post(ALLOCATION, parts(5_000, 5_000))
    new = ledger.post(ALLOCATION, parts(2_500, 7_500))
    assert [(line.payer.key, line.key.share, line.amount_krw) for line in new] == [
        (LARGE_KEY, Fraction(1, 8), -1), (SMALL_KEY, Fraction(1, 8), -1), (GOV, Fraction(3, 4), -2),
        (SMALL_KEY, Fraction(3, 16), 1), (GOV, Fraction(3, 4), 3)]
    assert ledger.standing() == wanted(parts(2_500, 7_500))


def test_two_participants_written_alike_are_one_payer_with_both_shares() -> None:
    # 1 GPU x 60 min x 4,000 / 60 = 4,000 KRW; each large participant 1/4 x 1/2 = 1/8, together 1/4: 1,000; government
    # 3,000. Without a registration number the name is the payer: "Acme" and "ACME " are one
    grant = a_grant(program="P2", ends="2026-12-02T01:00")
    alike = (Participant("Acme", "large"), Participant("ACME ", "large"))
    lines = owed(grant, a_profile("P2", participants=alike), prices_at(4_000), Shares())
    assert sorted((line.payer.name, line.amount_krw) for line in lines) == [("Acme", 1_000),
                                                                          ("Ministry of Science and ICT", 3_000)]
    ledger = InMemoryLedger()
    ledger.post(ALLOCATION, lines)
    assert sum(ledger.standing().values()) == 4_000


def test_a_reversal_is_the_line_it_reverses_with_the_net_negated() -> None:
    ledger = InMemoryLedger()
    [applicant, government] = ledger.post(ALLOCATION, owed_now())
    reversals = reconcile([], ledger.posted())
    assert reversals == [replace(applicant, amount_krw=-201_600, direction=-1),
                         replace(government, amount_krw=-470_400, direction=-1)]


def test_after_any_sequence_of_changes_the_net_per_key_is_what_is_owed_now() -> None:
    book = PriceBook([MarketPrice(NCLOUD, H100, date(2026, 1, 1), 4_000),
                      MarketPrice(NCLOUD, H100, date(2026, 12, 5), 4_400)], 3_000)
    facts = [
        owed_now(),
        owed_now(profile=a_profile(youth=True)),
        owed_now(replace(WEEK, ended_at=utc("2026-12-06T12:34:56")), a_profile(youth=True)),
        owed_now(replace(WEEK, ended_at=utc("2026-12-06T12:34:56")), a_profile(youth=True), book),
        owed_now(book=book),
        owed_now(profile=a_profile(youth=True)),
        owed_now(),
    ]
    ledger = InMemoryLedger()
    for lines in facts:
        ledger.post(ALLOCATION, lines)
        assert ledger.standing() == wanted(lines)
        assert all(net == 0 for key, net in ledger.nets().items() if key not in ledger.standing())
    assert ledger.post(ALLOCATION, facts[-1]) == []


def test_a_zero_krw_government_line_stands_and_is_not_posted_again() -> None:
    # P3 at 100%: the applicant pays all 672,000 KRW; the government's line is 0 KRW at a share of 0
    everything = Shares(p3_applicant=Fraction(1))
    grant = replace(WEEK, program="P3")
    ledger = InMemoryLedger()
    posted = ledger.post(ALLOCATION, owed_now(grant, a_profile("P3"), shares=everything))
    assert [(line.payer.key, line.key.share, line.amount_krw) for line in posted] == [
        (APPLICANT, Fraction(1), 672_000), (GOV, Fraction(0), 0)]
    assert ledger.posted()[posted[1].key].standing
    assert ledger.post(ALLOCATION, owed_now(grant, a_profile("P3"), shares=everything)) == []


def test_a_zero_krw_line_no_longer_owed_is_reversed_once() -> None:
    # from 100% to 90%: 604,800 KRW and a government's line of 67,200 at a share of 1/10
    grant = replace(WEEK, program="P3")
    ledger = InMemoryLedger()
    ledger.post(ALLOCATION, owed_now(grant, a_profile("P3"), shares=Shares(p3_applicant=Fraction(1))))
    ninety = owed_now(grant, a_profile("P3"), shares=Shares(p3_applicant=Fraction(9, 10)))
    new = ledger.post(ALLOCATION, ninety)
    assert [(line.payer.key, line.key.share, line.amount_krw) for line in new] == [
        (APPLICANT, Fraction(1), -672_000), (GOV, Fraction(0), 0),
        (APPLICANT, Fraction(9, 10), 604_800), (GOV, Fraction(1, 10), 67_200)]
    assert [line.direction for line in new] == [-1, -1, 1, 1]
    assert ledger.standing() == wanted(ninety)
    assert ledger.post(ALLOCATION, ninety) == []


def test_the_same_facts_post_the_same_lines_whatever_order_they_are_given_in() -> None:
    lines = owed(a_grant(gpus=((NCLOUD, 2), (KT, 3)), starts="2026-11-25T00:00", ends="2026-12-05T00:00"),
                 a_profile(), prices_at(4_000), Shares())
    shuffled = lines[:]
    random.Random(7).shuffle(shuffled)
    assert reconcile(shuffled, {}) == reconcile(lines, {})


# --- drafts ---------------------------------------------------------------------------------------------------------

# 1 GPU from Nov 20 00:00Z to Dec 10 00:00Z at 4,000 KRW/GPU-hour:
#   November (to Nov 30 15:00Z): 15,300 min = 255 h x 4,000 = 1,020,000 KRW
#   December (from Nov 30 15:00Z): 13,500 min = 225 h x 4,000 = 900,000 KRW
ACROSS = a_grant(starts="2026-11-20T00:00", ends="2026-12-10T00:00")
DECEMBER = utc("2026-11-30T15:00")  # Seoul's December 1 at midnight: November is closed from here
NOVEMBER = date(2026, 11, 1)


def test_the_positive_keys_of_closed_months_make_one_invoice_per_partner_and_payer() -> None:
    ledger = InMemoryLedger()
    # P1 of one partner: November 30% = 306,000 (December's 270,000 waits)
    ledger.post(ALLOCATION, owed_now(ACROSS))
    # P2 of another: November large 1/4 x 1/2 = 1/8 = 127,500 and small 3/40 x 1/2 = 3/80 = 38,250
    participants = (replace(LARGE, project_share_bp=5_000), replace(SMALL, project_share_bp=5_000))
    p2 = replace(ACROSS, allocation_id=uuid4(), program="P2")
    ledger.post(p2.allocation_id, owed_now(p2, a_profile("P2", partner_id=OTHER_PARTNER, participants=participants)))
    documents = drafts(ledger.unbilled(), closed_before=DECEMBER, month=NOVEMBER)
    assert [(d.kind, d.partner_id, d.payer.key, d.month, d.total_krw) for d in documents] == [
        (DocumentKind.INVOICE, PARTNER, APPLICANT, NOVEMBER, 306_000),
        (DocumentKind.INVOICE, OTHER_PARTNER, LARGE_KEY, NOVEMBER, 127_500),
        (DocumentKind.INVOICE, OTHER_PARTNER, SMALL_KEY, NOVEMBER, 38_250),
    ]
    [applicant_line] = documents[0].lines
    assert (applicant_line.key.period_end, applicant_line.gpu_minutes, applicant_line.gpu_hours) == (
        DECEMBER, 15_300, Fraction(255))
    november_ids = {e.id for e in ledger.entries if e.line.key.period_start < DECEMBER
                    and e.line.payer != GOVERNMENT}
    assert {i for d in documents for i in d.ledger_line_ids} == november_ids


def test_the_government_is_never_invoiced() -> None:
    # P3 is free by default: the government's two lines (November, December) are all the ledger holds
    ledger = InMemoryLedger()
    posted = ledger.post(ALLOCATION, owed_now(replace(ACROSS, program="P3"), a_profile("P3")))
    assert [(line.payer, line.amount_krw) for line in posted] == [(GOVERNMENT, 1_020_000), (GOVERNMENT, 900_000)]
    assert drafts(ledger.unbilled(), closed_before=utc("2027-02-01T00:00"), month=date(2027, 1, 1)) == []


def test_a_reversal_of_an_invoiced_line_goes_on_a_credit_note_at_once_and_keys_that_net_to_zero_wait() -> None:
    ledger = InMemoryLedger()
    ledger.post(ALLOCATION, owed_now(ACROSS))
    [invoice] = drafts(ledger.unbilled(), closed_before=DECEMBER, month=NOVEMBER)
    ledger.bill(invoice.ledger_line_ids)
    # reclaimed Nov 25 00:00Z: 5 days = 7,200 min x 4,000 / 60 = 480,000; 30% = 144,000; December owes nothing
    ledger.post(ALLOCATION, owed_now(replace(ACROSS, ended_at=utc("2026-11-25T00:00"))))
    documents = drafts(ledger.unbilled(), closed_before=DECEMBER, month=date(2026, 12, 1))
    assert [(d.kind, [line.amount_krw for line in d.lines], d.total_krw) for d in documents] == [
        (DocumentKind.INVOICE, [144_000], 144_000),
        (DocumentKind.CREDIT_NOTE, [-306_000], -306_000),
    ]
    # December's unbilled charge of 270,000 and its reversal net to zero: on no document
    december = {e.id for e in ledger.entries if e.line.key.period_start == DECEMBER and e.line.payer != GOVERNMENT}
    assert len(december) == 2
    assert not december & {i for d in documents for i in d.ledger_line_ids}


def test_keys_of_a_closed_month_that_net_to_zero_are_covered_unshown_by_the_payer_s_next_document() -> None:
    ledger = InMemoryLedger()
    ledger.post(ALLOCATION, owed_now(ACROSS))
    # reclaimed Dec 5 00:00Z: December (from Nov 30 15:00Z) is 4 days 9 h = 6,300 min x 4,000 / 60 = 420,000; 30% =
    # 126,000. The December charge of 270,000 and its reversal net to zero
    ledger.post(ALLOCATION, owed_now(replace(ACROSS, ended_at=utc("2026-12-05T00:00"))))
    january = utc("2026-12-31T15:00")
    [invoice] = drafts(ledger.unbilled(), closed_before=january, month=date(2026, 12, 1))
    assert sorted(line.amount_krw for line in invoice.lines) == [126_000, 306_000]
    netted = {e.id for e in ledger.entries if e.line.payer != GOVERNMENT and e.line.key.period_start == DECEMBER
              and e.line.key.period_end == utc("2026-12-10T00:00")}
    assert len(netted) == 2 and netted <= set(invoice.ledger_line_ids)
    ledger.bill(invoice.ledger_line_ids)
    assert [e for e in ledger.unbilled() if e.line.payer != GOVERNMENT] == []


def test_positive_keys_of_an_open_month_wait_for_it_to_close() -> None:
    ledger = InMemoryLedger()
    ledger.post(ALLOCATION, owed_now(a_grant(starts="2026-12-02T00:00", ends="2026-12-09T00:00")))
    assert drafts(ledger.unbilled(), closed_before=DECEMBER, month=NOVEMBER) == []
    # once December is closed (January 1 in Seoul), the week's 201,600 is invoiced
    [invoice] = drafts(ledger.unbilled(), closed_before=utc("2026-12-31T15:00"), month=date(2026, 12, 1))
    assert (invoice.kind, invoice.total_krw) == (DocumentKind.INVOICE, 201_600)


def test_a_draft_and_its_document_id_are_the_same_whatever_order_the_ledger_lines_come_in() -> None:
    ledger = InMemoryLedger()
    two_csps = replace(ACROSS, gpus_by_csp=((NCLOUD, 2), (KT, 1)))
    ledger.post(ALLOCATION, owed(two_csps, a_profile(), prices_at(4_000), Shares()))
    unbilled = ledger.unbilled()
    shuffled = unbilled[::-1]
    [invoice] = drafts(unbilled, closed_before=DECEMBER, month=NOVEMBER)
    assert drafts(shuffled, closed_before=DECEMBER, month=NOVEMBER) == [invoice]
    assert invoice.document_id(1) == uuid5(DOCUMENT_NAMESPACE, f"invoice/{PARTNER}/{APPLICANT}/2026-11-01/1")
    assert len({invoice.document_id(1), invoice.document_id(2),
                replace(invoice, kind=DocumentKind.CREDIT_NOTE).document_id(1),
                replace(invoice, month=date(2026, 12, 1)).document_id(1)}) == 4


def test_document_numbers_run_per_kind_and_year_on_six_digits() -> None:
    assert number(DocumentKind.INVOICE, 2026, 42) == "INV-2026-000042"
    assert number(DocumentKind.CREDIT_NOTE, 2026, 3) == "CN-2026-000003"
    assert number(DocumentKind.INVOICE, 2027, 1_234_567) == "INV-2027-1234567"
