"""Properties of the ledger on random grants (1-3 CSPs, 1-16 GPUs, minutes to months, reclaimed or not), random
price books and random changes of the facts (reclaims, prices learned late, a release, youth flips, P2 parts corrected)
applied in any order: the ledger nets to what is owed, whatever the order; the documents bill exactly the payers'
closed part of it; every segment adds up to its market value."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from itertools import pairwise
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.domain.ledger import (
    CompanySize,
    DocumentKind,
    Grant,
    Line,
    LineKey,
    MarketPrice,
    Participant,
    PayerKind,
    PriceBook,
    Profile,
    ProgramCode,
    Release,
    Shares,
    drafts,
    owed,
)

from .fakes import InMemoryLedger

EXAMPLES = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SEOUL = ZoneInfo("Asia/Seoul")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
CSPS = ("ncloud", "kt", "nhn")
MODELS = ("H100", "H100", "A100")  # a price of another model now and then, which must change nothing
ALLOCATION = UUID("00000000-0000-4000-8000-00000000a110")
APPLICATION = UUID("00000000-0000-4000-8000-0000000a9911")
PARTNER = UUID("00000000-0000-4000-8000-0000000000a1")
RELEASE = Release("https://github.com/acme/model", date(2027, 1, 1), UUID("00000000-0000-4000-8000-00000000e1e5"))
PROGRAMS: tuple[ProgramCode, ...] = ("P1", "P2", "P2", "P3")
SIZES: tuple[CompanySize, ...] = ("large", "mid", "small")
NAMES = ("Hanbit Semiconductor", "Seoul Robotics", "Jeju Vision", "Busan Data")
# the settings drawn from, the last one with P2's payers' shares summing to the whole (their rounding may overshoot)
HALF = Fraction(1, 2)
SHARES = (Shares(), Shares(p1_applicant=Fraction(1, 3)), Shares(p3_applicant=Fraction(1, 10)),
          Shares(p3_applicant=Fraction(1)), Shares(p1_applicant=Fraction(1), p1_youth_discount=Fraction(1, 3)),
          Shares(p2_applicant=HALF, p2_participant={"large": HALF, "mid": HALF, "small": HALF}))


@dataclass(frozen=True)
class Reclaim:
    at: datetime


@dataclass(frozen=True)
class PriceLearned:
    price: MarketPrice


@dataclass(frozen=True)
class ResultsReleased:
    pass


@dataclass(frozen=True)
class YouthFlipped:
    pass


@dataclass(frozen=True)
class PartsCorrected:
    """The P2 participants' basis points corrected from one set to the other (and back, if corrected twice)."""

    one: tuple[Participant, ...]
    other: tuple[Participant, ...]


Change = Reclaim | PriceLearned | ResultsReleased | YouthFlipped | PartsCorrected


@dataclass(frozen=True)
class Facts:
    grant: Grant
    profile: Profile
    prices: tuple[MarketPrice, ...]
    default: int
    shares: Shares

    def owed(self) -> list[Line]:
        return owed(self.grant, self.profile, PriceBook(self.prices, self.default), self.shares)

    def changed(self, change: Change) -> Facts:
        """The facts after a change; changes commute (the earliest reclaim holds, prices have distinct days, a
        release is a release, two flips or two corrections cancel): any order of the changes ends in the same facts."""
        match change:
            case Reclaim(at):
                ended = at if self.grant.ended_at is None else min(at, self.grant.ended_at)
                return replace(self, grant=replace(self.grant, ended_at=ended))
            case PriceLearned(price):
                return replace(self, prices=(*self.prices, price))
            case ResultsReleased():
                return replace(self, profile=replace(self.profile, release=RELEASE))
            case YouthFlipped():
                return replace(self, profile=replace(self.profile, youth=not self.profile.youth))
            case PartsCorrected(one, other):
                corrected = other if self.profile.participants == one else one
                return replace(self, profile=replace(self.profile, participants=corrected))
        raise AssertionError(change)


Scenario = tuple[Facts, list[Change]]


def reclaim_times(starts: datetime, minutes: int) -> st.SearchStrategy[datetime]:
    """Anywhere from a little before the start to a little after the end, to the second."""
    return st.builds(lambda percent, second: starts + timedelta(minutes=minutes * percent // 100, seconds=second),
                     st.integers(-3, 103), st.integers(-59, 59))


def periods() -> st.SearchStrategy[int]:
    """Minutes to months: 1-100 minutes, hours or days, and a few minutes more."""
    return st.builds(lambda unit, count, extra: unit * count + extra,
                     st.sampled_from((1, 60, 1_440)), st.integers(1, 100), st.integers(0, 59))


def instants() -> st.SearchStrategy[datetime]:
    """Any second of 2026-2027, or a Korean midnight (a month start now and then)."""
    any_second = st.builds(lambda day, second: T0 + timedelta(days=day, seconds=second),
                           st.integers(0, 729), st.integers(0, 86_399))
    midnight = st.builds(lambda day: T0 + timedelta(days=day, hours=-9), st.integers(0, 729))
    return any_second | midnight


def basis_points(draw: Callable[[st.SearchStrategy[Any]], Any], n: int) -> list[int | None]:
    """n parts that sum to 10,000 (three times in four), or none given."""
    if not n or draw(st.integers(0, 3)) == 0:
        return [None] * n
    cuts = draw(st.lists(st.integers(0, 10_000), min_size=n - 1, max_size=n - 1))
    return [b - a for a, b in pairwise([0, *sorted(cuts), 10_000])]


@st.composite
def participants(draw: st.DrawFn) -> tuple[tuple[Participant, ...], tuple[Participant, ...]]:
    """0-4 companies, with or without a registration number, of one size or mixed, with their basis points (or none)
    as first known and as corrected."""
    names = draw(st.lists(st.sampled_from(NAMES), min_size=draw(st.sampled_from((0, 2))), max_size=4, unique=True))
    sizes = st.sampled_from(SIZES)
    if draw(st.booleans()):  # one size for all: a correction may keep the government's share
        sizes = st.just(draw(sizes))
    them = tuple(Participant(name, draw(sizes), draw(st.none() | st.just(f"{i:03d}-81-0000{i}")))
                 for i, name in enumerate(names))
    first, corrected = basis_points(draw, len(them)), basis_points(draw, len(them))
    return (tuple(replace(p, project_share_bp=bp) for p, bp in zip(them, first, strict=True)),
            tuple(replace(p, project_share_bp=bp) for p, bp in zip(them, corrected, strict=True)))


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    program = draw(st.sampled_from(PROGRAMS))
    csps = draw(st.lists(st.sampled_from(CSPS), min_size=1, max_size=3, unique=True))
    starts, minutes = draw(instants()), draw(periods())
    grant = Grant(ALLOCATION, APPLICATION, program, "H100", tuple((c, draw(st.integers(1, 16))) for c in csps),
                  starts, starts + timedelta(minutes=minutes), draw(st.none() | reclaim_times(starts, minutes)))
    one, other = draw(participants()) if program == "P2" else ((), ())
    profile = Profile(APPLICATION, PARTNER, program, "Acme AI", draw(st.none() | st.just("123-45-67890")),
                      youth=draw(st.booleans()), participants=one)
    days = st.integers(-3, minutes // 1_440 + 3).map(lambda d: starts.date() + timedelta(days=d))
    priced = draw(st.lists(st.tuples(st.sampled_from(csps), st.sampled_from(MODELS), days, st.integers(500, 20_000)),
                           max_size=6, unique_by=lambda p: (p[0], p[1], p[2])))
    prices = [MarketPrice(*p) for p in priced]
    known = draw(st.integers(0, len(prices)))
    changes: list[Change] = [PriceLearned(p) for p in prices[known:]]
    changes += [Reclaim(at) for at in draw(st.lists(reclaim_times(starts, minutes), max_size=2))]
    changes += [ResultsReleased()] * draw(st.integers(0, 1)) + [YouthFlipped()] * draw(st.integers(0, 2))
    changes += [PartsCorrected(one, other)] * draw(st.sampled_from((0, 1, 1, 2)))
    facts = Facts(grant, profile, tuple(prices[:known]), draw(st.integers(500, 10_000)), draw(st.sampled_from(SHARES)))
    return facts, changes


def wanted(lines: list[Line]) -> dict[LineKey, int]:
    keys = [line.key for line in lines]
    assert len(set(keys)) == len(keys), "two owed lines share a key"
    return {line.key: line.amount_krw for line in lines}


def replay(facts: Facts, changes: list[Change], ledger: InMemoryLedger) -> Facts:
    """Post what is owed at first and after each change, the ledger netting per key to it every time."""
    for change in [None, *changes]:
        facts = facts if change is None else facts.changed(change)
        owed_now = wanted(facts.owed())
        ledger.post(ALLOCATION, facts.owed())
        assert ledger.standing() == owed_now
        assert all(net == 0 for key, net in ledger.nets().items() if key not in owed_now)
    return facts


def final(facts: Facts, changes: list[Change]) -> Facts:
    for change in changes:
        facts = facts.changed(change)
    return facts


@EXAMPLES
@given(scenario=scenarios(), data=st.data())
def test_after_reconciling_each_change_the_ledger_nets_per_key_to_what_the_final_facts_owe(
        scenario: Scenario, data: st.DataObject) -> None:
    facts, changes = scenario
    order = data.draw(st.permutations(changes))
    ledger = InMemoryLedger()
    replay(facts, order, ledger)
    assert ledger.standing() == wanted(final(facts, changes).owed())
    assert ledger.post(ALLOCATION, final(facts, changes).owed()) == []


@EXAMPLES
@given(scenario=scenarios(), data=st.data())
def test_the_same_changes_in_another_order_leave_the_same_net_per_key(scenario: Scenario, data: st.DataObject) -> None:
    facts, changes = scenario
    one, other = InMemoryLedger(), InMemoryLedger()
    replay(facts, data.draw(st.permutations(changes)), one)
    replay(facts, data.draw(st.permutations(changes)), other)
    assert one.standing() == other.standing()
    assert {k: n for k, n in one.nets().items() if n} == {k: n for k, n in other.nets().items() if n}


@EXAMPLES
@given(data=st.data(), size=st.sampled_from(SIZES), n=st.integers(2, 4),
       minutes=st.integers(1, 6_000), rate=st.integers(500, 20_000))
def test_correcting_the_p2_parts_keeps_the_governments_key_and_nets_it_to_the_new_amount(
        data: st.DataObject, size: CompanySize, n: int, minutes: int, rate: int) -> None:
    # participants of one size: the government's share is 1 - that size's share whatever the parts, so its key stays
    # while the payers' roundings, and so its amount, change with the parts
    them = tuple(Participant(name, size) for name in NAMES[:n])
    starts = datetime(2026, 12, 2, tzinfo=UTC)
    grant = Grant(ALLOCATION, APPLICATION, "P2", "H100", (("ncloud", 1),), starts, starts + timedelta(minutes=minutes))
    book, ledger = PriceBook([], rate), InMemoryLedger()
    for _ in range(3):
        parts = tuple(replace(p, project_share_bp=bp) for p, bp in zip(them, basis_points(data.draw, n), strict=True))
        lines = owed(grant, Profile(APPLICATION, PARTNER, "P2", "KAIST", participants=parts), book, Shares())
        ledger.post(ALLOCATION, lines)
        assert ledger.standing() == wanted(lines)


def closed_months(facts: Facts) -> st.SearchStrategy[datetime]:
    """Seoul's month starts from the month before the allocation to the month after it."""
    first = facts.grant.starts_at.astimezone(SEOUL)
    months = [(first.year * 12 + first.month - 1 + k) for k in range(-1, 6)]
    return st.sampled_from([datetime(m // 12, m % 12 + 1, 1, tzinfo=SEOUL) for m in months])


def payers_closed_total(ledger: InMemoryLedger, closed_before: datetime) -> int:
    return sum(net for key, net in ledger.standing().items()
               if key.payer_key != "government" and key.period_start < closed_before)


@EXAMPLES
@given(scenario=scenarios(), data=st.data())
def test_drafts_over_the_ledger_invoice_its_payers_total_of_the_closed_months(
        scenario: Scenario, data: st.DataObject) -> None:
    facts, changes = scenario
    closed_before = data.draw(closed_months(facts))
    ledger = InMemoryLedger()
    replay(facts, data.draw(st.permutations(changes)), ledger)
    documents = drafts(ledger.unbilled(), closed_before=closed_before, month=date(2026, 1, 1))
    # nothing was billed before: every key nets to what is owed, so there is nothing to credit
    assert {d.kind for d in documents} <= {DocumentKind.INVOICE}
    assert all(line.amount_krw > 0 and line.key.period_start < closed_before for d in documents for line in d.lines)
    assert all(d.payer.kind is not PayerKind.GOVERNMENT for d in documents)
    assert sum(d.total_krw for d in documents) == payers_closed_total(ledger, closed_before)


@EXAMPLES
@given(scenario=scenarios(), data=st.data())
def test_invoicing_between_the_changes_bills_in_the_end_exactly_what_the_closed_months_owe(
        scenario: Scenario, data: st.DataObject) -> None:
    facts, changes = scenario
    closed_before = data.draw(closed_months(facts))
    order = data.draw(st.permutations(changes))
    ledger, billed = InMemoryLedger(), 0
    for i in range(len(order) + 1):
        ledger.post(ALLOCATION, final(facts, order[:i]).owed())
        documents = drafts(ledger.unbilled(), closed_before=closed_before, month=date(2026, 1, 1))
        for d in documents:
            # an invoice's lines are all positive, a credit note's all negative
            assert all((line.amount_krw > 0) == (d.kind is DocumentKind.INVOICE) for line in d.lines)
            assert all(line.amount_krw != 0 for line in d.lines)
            ledger.bill(d.ledger_line_ids)
            billed += d.total_krw
        assert len({(d.kind, d.partner_id, d.payer.key) for d in documents}) == len(documents)
    assert billed == payers_closed_total(ledger, closed_before)
    # what is left unbilled of the payers' closed months nets to zero per key
    left: dict[LineKey, int] = defaultdict(int)
    for item in ledger.unbilled():
        if item.line.payer.kind is not PayerKind.GOVERNMENT and item.line.key.period_start < closed_before:
            left[item.line.key] += item.line.amount_krw
    assert set(left.values()) <= {0}


def seoul_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SEOUL)


def price_at(facts: Facts, csp: str, at: datetime) -> int:
    """The latest price of the CSP's H100 in force at `at`, else the default."""
    known = [p for p in facts.prices
             if (p.csp, p.gpu_model) == (csp, "H100") and seoul_midnight(p.effective_from) <= at]
    return max(known, key=lambda p: p.effective_from).krw_per_gpu_hour if known else facts.default


def korean_month(at: datetime) -> tuple[int, int]:
    local = at.astimezone(SEOUL)
    return local.year, local.month


def whole_minutes(at: datetime) -> datetime:
    return at - timedelta(seconds=at.second, microseconds=at.microsecond)


def half_up(amount: Fraction) -> int:
    """n/d ≥ 0 to the nearest integer, halves up: ⌊(2n + d) / 2d⌋."""
    return (2 * amount.numerator + amount.denominator) // (2 * amount.denominator)


@EXAMPLES
@given(scenario=scenarios())
def test_per_segment_the_payers_and_the_government_add_up_to_the_market_value(scenario: Scenario) -> None:
    facts, changes = scenario
    for now in (facts, final(facts, changes)):
        grant = now.grant
        segments: dict[tuple[str, datetime, datetime], list[Line]] = defaultdict(list)
        for line in now.owed():
            segments[(line.key.csp, line.key.period_start, line.key.period_end)].append(line)
        start = whole_minutes(grant.starts_at)
        end = max(whole_minutes(min(grant.ends_at, grant.ended_at or grant.ends_at)), start)
        for csp, gpus in grant.gpus_by_csp:
            mine = sorted((s, e) for c, s, e in segments if c == csp)
            # the segments tile the billed period, whole minutes, each in one Korean month at one price
            bounds = [start, *(e for _, e in mine)]
            assert mine == list(pairwise(bounds))
            assert bounds[-1] == end
            for s, e in mine:
                lines = segments[(csp, s, e)]
                assert korean_month(s) == korean_month(e - timedelta(minutes=1))
                assert price_at(now, csp, s) == price_at(now, csp, e - timedelta(minutes=1))
                rate = price_at(now, csp, s)
                minutes = gpus * int((e - s).total_seconds()) // 60
                assert (e - s).total_seconds() % 60 == 0
                assert [line.payer.kind for line in lines].count(PayerKind.GOVERNMENT) == 1
                assert all(line.gpu_minutes == minutes and line.key.krw_per_gpu_hour == rate for line in lines)
                assert all(line.amount_krw >= 0 for line in lines)
                assert sum(line.amount_krw for line in lines) == half_up(Fraction(minutes * rate, 60))
