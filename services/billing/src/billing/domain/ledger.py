"""What each payer owes for an allocation, as ledger lines, and the documents (invoices, credit notes) drawn from them.

The arithmetic, stated once:
- **Basis**: the reserved GPU-time, GPUs x whole minutes of the allocated period (an early end, by a reclaim or a
  withdrawal, counts to the minute: the seconds of a started minute are not billed).
- The period is cut into **segments**: at each month's start in Korea (Asia/Seoul; invoices are monthly) and at each
  date a CSP's market price for the GPU model changes. A segment has one price and one CSP.
- Each **payer's line** is `GPU-minutes x price per GPU-hour / 60 x share`, computed exactly (fractions, never floats)
  and rounded once, half-up to the won. The **government's line** is the segment's market value (rounded the same
  way) less the payers' lines, so the lines of a segment always add up to its market value to the won. (Should the
  payers' shares sum to the whole and each round up past it, the last payers give up the excess won.)
- The ledger is **append-only**: when what is owed changes (a reclaim, a price change, a waiver, a fact learned
  late) the lines that no longer hold are reversed by new lines and the new ones posted (`reconcile`). A line's
  identity (`LineKey`: allocation, payer, CSP, segment, GPUs, price, share) is what its amount derives from (the
  government's line also from how the payers' lines rounded, which `reconcile` compares too), so the net of the
  ledger per key is either nothing or the one amount owed now, whatever order the facts came in.
- A **document** takes the lines of one payer not yet on a document, nets them per key, and shows the keys that do not
  net to zero: positive on an invoice, negative (the reversal of what was invoiced) on a credit note.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from itertools import pairwise
from typing import Literal
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")
MINUTE = timedelta(minutes=1)
MINUTES_PER_HOUR = 60
BASIS_POINTS = 10_000
CompanySize = Literal["large", "mid", "small"]  # the same literal as contracts.CompanySize
ProgramCode = Literal["P1", "P2", "P3"]
DOCUMENT_NAMESPACE = UUID("5b0f7c1e-4c1a-4d7e-9a57-0b1d2c3e4f50")


def round_half_up(amount: Fraction) -> int:
    """Whole KRW, halves rounded away from zero (never the banker's rounding of Python's round())."""
    magnitude = (abs(amount) + Fraction(1, 2)).__floor__()
    return magnitude if amount >= 0 else -magnitude


def floor_minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def month_start(at: datetime) -> datetime:
    """The first instant of the Korean calendar month `at` falls in."""
    local = at.astimezone(SEOUL)
    return datetime(local.year, local.month, 1, tzinfo=SEOUL)


def next_month(start: datetime) -> datetime:
    local = start.astimezone(SEOUL)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime(year, month, 1, tzinfo=SEOUL)


def month_of(at: datetime) -> date:
    """The month `at` falls in, as its first day (Korea's calendar)."""
    return month_start(at).date()


def seoul_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SEOUL)


def gpu_hours(gpu_minutes: int) -> Fraction:
    return Fraction(gpu_minutes, MINUTES_PER_HOUR)


# --- who pays -------------------------------------------------------------------------------------------------------

class PayerKind(StrEnum):
    APPLICANT = "applicant"
    PARTICIPANT = "participant"
    GOVERNMENT = "government"


@dataclass(frozen=True, order=True)
class Payer:
    """Whoever a line is owed by. `key` is stable across applications: a company's business registration number
    where it is known, otherwise the organisation's name as written (trimmed, case-folded)."""

    kind: PayerKind
    key: str
    name: str

    @staticmethod
    def organisation(kind: PayerKind, name: str, registration_number: str | None) -> Payer:
        key = f"brn:{registration_number}" if registration_number else "org:" + " ".join(name.split()).casefold()
        return Payer(kind, key, name)


GOVERNMENT = Payer(PayerKind.GOVERNMENT, "government", "Ministry of Science and ICT")


@dataclass(frozen=True)
class Participant:
    """A company taking part in a P2 project; `project_share_bp` is its part of the project in basis points."""

    name: str
    size: CompanySize
    business_registration_number: str | None = None
    project_share_bp: int | None = None


@dataclass(frozen=True)
class Release:
    """An operator recorded the project's results released as open source: the participants owe nothing."""

    url: str
    released_on: date
    event_id: UUID


@dataclass(frozen=True)
class Profile:
    """What billing knows of an application, from intake's and evaluation's events and the operators."""

    application_id: UUID
    partner_id: UUID
    program: ProgramCode
    organisation: str
    business_registration_number: str | None = None
    youth: bool = False
    participants: tuple[Participant, ...] = ()
    open_source_pledged: bool = False
    release: Release | None = None

    @property
    def applicant(self) -> Payer:
        return Payer.organisation(PayerKind.APPLICANT, self.organisation, self.business_registration_number)


@dataclass(frozen=True)
class Shares:
    """Who pays which share of the market price (the settings; defaults from PROGRAM_RULES.md)."""

    p1_applicant: Fraction = Fraction(3, 10)
    p1_youth_discount: Fraction = Fraction(1, 2)
    p2_applicant: Fraction = Fraction(0)
    p2_participant: Mapping[str, Fraction] = field(default_factory=lambda: {
        "large": Fraction(1, 4), "mid": Fraction(3, 20), "small": Fraction(3, 40)})
    p3_applicant: Fraction = Fraction(0)

    def payers(self, profile: Profile) -> list[tuple[Payer, Fraction]]:
        """Each payer of an application and its share of the market value; the government pays the rest. A payer
        named twice (two participants written alike, or the applicant also a participant) is one payer with the sum
        of its shares."""
        merged: dict[str, tuple[Payer, Fraction]] = {}
        for payer, share in self._each(profile):
            first, before = merged.get(payer.key, (payer, Fraction(0)))
            merged[payer.key] = (first, before + share)
        return list(merged.values())

    def _each(self, profile: Profile) -> list[tuple[Payer, Fraction]]:
        if profile.program == "P1":
            discount = self.p1_youth_discount if profile.youth else Fraction(0)
            return [(profile.applicant, self.p1_applicant * (1 - discount))]
        if profile.program == "P3":
            return [(profile.applicant, self.p3_applicant)]
        owed = [(profile.applicant, self.p2_applicant)]
        if profile.release is None:
            owed += [(Payer.organisation(PayerKind.PARTICIPANT, p.name, p.business_registration_number),
                      self.p2_participant[p.size] * part) for p, part in _parts(profile.participants)]
        return owed


def _parts(participants: Sequence[Participant]) -> list[tuple[Participant, Fraction]]:
    """Each participant's part of the project: its basis points where every participant gives them, else equal."""
    if participants and all(p.project_share_bp is not None for p in participants):
        return [(p, Fraction(p.project_share_bp or 0, BASIS_POINTS)) for p in participants]
    return [(p, Fraction(1, len(participants))) for p in participants]


# --- the market price -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MarketPrice:
    """A CSP's price of one GPU-hour of a model, from a day on (Korea's calendar) until the next price."""

    csp: str
    gpu_model: str
    effective_from: date
    krw_per_gpu_hour: int


class PriceBook:
    """The market prices known; a CSP and model with no price before a day are priced at the default."""

    def __init__(self, prices: Iterable[MarketPrice], default_krw_per_gpu_hour: int) -> None:
        self.default = default_krw_per_gpu_hour
        self._by_pair: dict[tuple[str, str], list[MarketPrice]] = defaultdict(list)
        for price in sorted(prices, key=lambda p: p.effective_from):
            self._by_pair[(price.csp, price.gpu_model)].append(price)

    def segments(self, csp: str, gpu_model: str, start: datetime, end: datetime,
                 ) -> list[tuple[datetime, datetime, int]]:
        """[start, end) cut at every month's start and every price change, each piece with its price."""
        changes = self._by_pair.get((csp, gpu_model), [])
        cuts = {start, end}
        cuts.update(seoul_midnight(p.effective_from) for p in changes)
        at = next_month(month_start(start))
        while at < end:
            cuts.add(at)
            at = next_month(at)
        bounds = sorted(c for c in cuts if start <= c <= end)
        return [(a, b, self._rate_at(changes, a)) for a, b in pairwise(bounds)]

    def _rate_at(self, changes: Sequence[MarketPrice], at: datetime) -> int:
        rate = self.default
        for price in changes:
            if seoul_midnight(price.effective_from) > at:
                break
            rate = price.krw_per_gpu_hour
        return rate


# --- an allocation and its lines ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Grant:
    """An allocation as billing sees it: GPUs of a model per CSP over a period, ended early if reclaimed."""

    allocation_id: UUID
    application_id: UUID
    program: ProgramCode
    gpu_model: str
    gpus_by_csp: tuple[tuple[str, int], ...]
    starts_at: datetime
    ends_at: datetime
    ended_at: datetime | None = None

    @property
    def gpus(self) -> int:
        return sum(n for _, n in self.gpus_by_csp)

    @property
    def billed_from(self) -> datetime:
        return floor_minute(self.starts_at)

    @property
    def billed_until(self) -> datetime:
        """The period's end, or the minute of an earlier reclaim; never before the start."""
        end = self.ends_at if self.ended_at is None else min(self.ends_at, self.ended_at)
        return max(floor_minute(end), self.billed_from)


@dataclass(frozen=True, order=True)
class LineKey:
    """What a line's amount derives from: two lines with one key are the same charge."""

    allocation_id: UUID
    payer_key: str
    csp: str
    period_start: datetime
    period_end: datetime
    gpus: int
    krw_per_gpu_hour: int
    share: Fraction


@dataclass(frozen=True)
class Line:
    """One amount owed by one payer for one segment of an allocation (negative: a reversal)."""

    key: LineKey
    payer: Payer
    application_id: UUID
    partner_id: UUID
    program: ProgramCode
    gpu_model: str
    gpu_minutes: int
    amount_krw: int
    direction: int = 1  # 1 a charge, -1 the reversal of one


@dataclass(frozen=True)
class Cause:
    """The event a ledger line was posted for: one read from another service, or one billing published."""

    event_id: UUID
    type: str
    at: datetime


def owed(grant: Grant, profile: Profile, prices: PriceBook, shares: Shares) -> list[Line]:
    """Every line the allocation owes as things stand, the government's included (even at 0: it carries the
    segment's basis for the CSP's settlement)."""
    payers = shares.payers(profile)
    lines: list[Line] = []
    for csp, gpus in grant.gpus_by_csp:
        for start, end, rate in prices.segments(csp, grant.gpu_model, grant.billed_from, grant.billed_until):
            minutes = gpus * ((end - start) // MINUTE)
            if minutes == 0:
                continue
            value = Fraction(minutes * rate, MINUTES_PER_HOUR)

            def line(payer: Payer, share: Fraction, amount: int, *, csp: str = csp, start: datetime = start,
                     end: datetime = end, gpus: int = gpus, rate: int = rate, minutes: int = minutes) -> Line:
                return Line(LineKey(grant.allocation_id, payer.key, csp, start, end, gpus, rate, share), payer,
                            grant.application_id, profile.partner_id, grant.program, grant.gpu_model, minutes,
                            amount)

            market_value = round_half_up(value)
            amounts = _within(market_value, [round_half_up(value * share) for _, share in payers])
            for (payer, share), amount in zip(payers, amounts, strict=True):
                if amount:
                    lines.append(line(payer, share, amount))
            rest = 1 - sum((share for _, share in payers), Fraction(0))
            lines.append(line(GOVERNMENT, rest, market_value - sum(amounts)))
    return lines


def _within(market_value: int, amounts: list[int]) -> list[int]:
    """The payers' rounded amounts, never more than the market value together: where shares summing to the whole
    each round up past it, the last payers give up the excess won (the government's line is then 0)."""
    excess = sum(amounts) - market_value
    out = list(amounts)
    for i in reversed(range(len(out))):
        if excess <= 0:
            break
        taken = min(excess, out[i])
        out[i] -= taken
        excess -= taken
    return out


@dataclass(frozen=True)
class Posted:
    """What the ledger holds for a key: the net amount and whether the key's charge stands (charged more often than
    reversed); a line of 0 KRW may stand."""

    line: Line
    net_krw: int
    standing: bool


def reconcile(wanted: Iterable[Line], posted: Mapping[LineKey, Posted]) -> list[Line]:
    """The new ledger lines that take the ledger from `posted` to `wanted`: reversals of what no longer holds, then
    the charges not yet standing, each list in key order (so the same facts always post the same lines)."""
    want = {line.key: line for line in wanted}
    reversals: list[Line] = []
    charges: list[Line] = []
    for key in sorted(posted):
        have = posted[key]
        if have.standing and (key not in want or want[key].amount_krw != have.net_krw):
            reversals.append(replace(have.line, amount_krw=-have.net_krw, direction=-1))
    for key in sorted(want):
        have_standing = key in posted and posted[key].standing
        if not have_standing or want[key].amount_krw != posted[key].net_krw:
            charges.append(want[key])
    return reversals + charges


# --- documents ------------------------------------------------------------------------------------------------------

class DocumentKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class DocumentStatus(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    PAID = "paid"
    VOID = "void"


@dataclass(frozen=True)
class DocumentLine:
    """A key's net amount on a document, with what a reader needs to check it."""

    key: LineKey
    application_id: UUID
    program: ProgramCode
    gpu_model: str
    gpu_minutes: int
    amount_krw: int
    busy_gpu_hours: Decimal | None = None  # measured by telemetry in the period; for information, not billed

    @property
    def gpu_hours(self) -> Fraction:
        return gpu_hours(self.gpu_minutes)


@dataclass(frozen=True)
class Draft:
    """An invoice or a credit note before it is issued: one payer's netted lines, and the ledger lines it covers."""

    kind: DocumentKind
    partner_id: UUID
    payer: Payer
    month: date
    lines: tuple[DocumentLine, ...]
    ledger_line_ids: tuple[int, ...]

    @property
    def total_krw(self) -> int:
        return sum(line.amount_krw for line in self.lines)

    def document_id(self, ordinal: int) -> UUID:
        """The same draft of the same payer and month is the same document, whatever order the ledger was built in."""
        return uuid5(DOCUMENT_NAMESPACE, f"{self.kind}/{self.partner_id}/{self.payer.key}/{self.month}/{ordinal}")


@dataclass(frozen=True)
class Unbilled:
    """A ledger line not on any standing document."""

    id: int
    line: Line


def drafts(unbilled: Iterable[Unbilled], *, closed_before: datetime, month: date) -> list[Draft]:
    """The documents the unbilled lines make: per partner and payer, keys netted; positive keys of periods before
    `closed_before` on an invoice for `month`, negative keys (reversals of what was invoiced) on a credit note at once.
    Positive keys of periods still open wait. Keys of closed periods that net to zero are covered by the payer's first
    document, unshown (so they are not read again each round), or wait with nothing to show if it has none. The
    government is never invoiced."""
    groups: dict[tuple[UUID, str], dict[LineKey, list[Unbilled]]] = defaultdict(lambda: defaultdict(list))
    payers: dict[str, Payer] = {}
    for item in unbilled:
        if item.line.payer.kind is PayerKind.GOVERNMENT:
            continue
        payers[item.line.payer.key] = item.line.payer
        groups[(item.line.partner_id, item.line.payer.key)][item.line.key].append(item)
    out: list[Draft] = []
    for (partner_id, payer_key), by_key in sorted(groups.items()):
        invoice: list[tuple[DocumentLine, list[int]]] = []
        credit: list[tuple[DocumentLine, list[int]]] = []
        settled: list[int] = []  # lines of closed periods that net to nothing (a charge and its reversal)
        for key in sorted(by_key):
            items = by_key[key]
            net = sum(i.line.amount_krw for i in items)
            first = items[0].line
            entry = (DocumentLine(key, first.application_id, first.program, first.gpu_model, first.gpu_minutes, net),
                     [i.id for i in items])
            if net < 0:
                credit.append(entry)
            elif net > 0 and key.period_start < closed_before:
                invoice.append(entry)
            elif net == 0 and key.period_start < closed_before:
                settled += entry[1]
        for kind, entries in ((DocumentKind.INVOICE, invoice), (DocumentKind.CREDIT_NOTE, credit)):
            if entries:
                out.append(Draft(kind, partner_id, payers[payer_key], month, tuple(e for e, _ in entries),
                                 tuple(sorted([*settled, *(i for _, ids in entries for i in ids)]))))
                settled = []  # the payer's first document covers them, shown nowhere: they add nothing
    return out


@dataclass(frozen=True)
class Document:
    """An invoice or a credit note as stored: drafted, then issued with its number, then paid or void."""

    id: UUID
    kind: DocumentKind
    number: str | None
    status: DocumentStatus
    partner_id: UUID
    payer: Payer
    month: date
    total_krw: int
    reason: str | None
    credits: tuple[str, ...]
    drafted_at: datetime
    issued_at: datetime | None
    paid_at: datetime | None
    payment_reference: str | None
    voided_at: datetime | None
    void_reason: str | None
    lines: tuple[DocumentLine, ...]


def number(kind: DocumentKind, year: int, sequence: int) -> str:
    """The document's number: a series per kind and year without gaps, e.g. INV-2026-000042, CN-2026-000003."""
    prefix = "INV" if kind is DocumentKind.INVOICE else "CN"
    return f"{prefix}-{year}-{sequence:06d}"
