"""Billing's facts, ledger and documents in and out of the database."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any
from uuid import UUID

from sqlalchemy import Table, and_, bindparam, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from billing.adapters.orm import (
    application,
    document,
    document_counter,
    document_ledger_line,
    document_line,
    grant,
    grant_end,
    ledger_line,
    market_price,
    release,
    usage_entry,
    youth,
)
from billing.domain.ledger import (
    Cause,
    Document,
    DocumentKind,
    DocumentLine,
    DocumentStatus,
    Draft,
    Grant,
    Line,
    LineKey,
    MarketPrice,
    Participant,
    Payer,
    PayerKind,
    Posted,
    Profile,
    Release,
    Unbilled,
    next_month,
    seoul_midnight,
)
from billing.domain.model import UsageEntry

ROUND_LOCK = 0x62696c6c  # "bill"
BILLED = (DocumentStatus.ISSUED.value, DocumentStatus.PAID.value)


def _row_params(table: Table) -> dict[str, Any]:
    """A parameter per column, named after it: a statement built once takes its row apart from it."""
    return {c.name: bindparam(c.name, type_=c.type) for c in table.c}


# The statements each application's, youth finding's and grant's event runs are built once, their values parameters
# given at execution, so that SQLAlchemy neither rebuilds nor keys them again per event.
_APPLICATION = bindparam("application_id", type_=application.c.application_id.type)
_ALLOCATION = bindparam("allocation_id", type_=grant.c.allocation_id.type)
_added = (insert(application).values(_row_params(application)).on_conflict_do_nothing()
          .returning(application.c.application_id).cte("added"))
_ADD_PROFILE = (select(_added.c.application_id, grant.c.allocation_id)
                .outerjoin_from(_added, grant, grant.c.application_id == _added.c.application_id)
                .order_by(grant.c.allocation_id))
_youth = insert(youth).values(_row_params(youth))
_put = (_youth.on_conflict_do_update(index_elements=[youth.c.application_id], set_={"youth": _youth.excluded.youth})
        .returning(youth.c.application_id).cte("put"))
_PUT_YOUTH = (select(grant.c.allocation_id).join_from(_put, grant, grant.c.application_id == _put.c.application_id)
              .order_by(grant.c.allocation_id))
_PROFILE = (select(application, youth.c.youth, release.c.url, release.c.released_on, release.c.event_id)
            .outerjoin(youth, youth.c.application_id == application.c.application_id)
            .outerjoin(release, release.c.application_id == application.c.application_id)
            .where(application.c.application_id == _APPLICATION))


class ProfileRepository:
    """Applications as intake announced them, evaluation's youth finding, and the operators' releases."""

    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def add(self, profile: Profile) -> list[UUID] | None:
        """None when the application is known already (announced twice): the first announcement stands. Else the
        allocations granted to it so far (read before it was), in id order: one statement, the insert and the read."""
        rows = (await self._session.execute(_ADD_PROFILE, {
            "application_id": profile.application_id, "partner_id": profile.partner_id, "program": profile.program,
            "organisation": profile.organisation, "business_registration_number": profile.business_registration_number,
            "participants": [asdict(p) for p in profile.participants],
            "open_source_pledged": profile.open_source_pledged,
        })).all()
        if not rows:
            return None
        return [r.allocation_id for r in rows if r.allocation_id is not None]

    async def put_youth(self, application_id: UUID, is_youth: bool) -> list[UUID]:
        """Record (or correct) the finding; the allocations granted to the application so far, in id order (one
        statement, the upsert and the read)."""
        granted = await self._session.execute(_PUT_YOUTH, {"application_id": application_id, "youth": is_youth})
        return list(granted.scalars().all())

    async def add_release(self, application_id: UUID, found: Release, at: datetime, by: str) -> bool:
        """False when a release is recorded already; the first one stands."""
        stmt = insert(release).values(application_id=application_id, url=found.url, released_on=found.released_on,
                                      event_id=found.event_id, recorded_at=at, recorded_by=by
                                      ).on_conflict_do_nothing().returning(release.c.application_id)
        return (await self._session.execute(stmt)).first() is not None

    async def get(self, application_id: UUID) -> Profile | None:
        row = (await self._session.execute(_PROFILE, {"application_id": application_id})).first()
        return None if row is None else _profile(row._mapping)


def _profile(m: Any) -> Profile:
    found = Release(m["url"], m["released_on"], m["event_id"]) if m["url"] is not None else None
    return Profile(application_id=m["application_id"], partner_id=m["partner_id"], program=m["program"],
                   organisation=m["organisation"], business_registration_number=m["business_registration_number"],
                   youth=bool(m["youth"]), participants=tuple(Participant(**p) for p in m["participants"]),
                   open_source_pledged=m["open_source_pledged"], release=found)


PROFILE_COLUMNS = (*application.c, youth.c.youth, release.c.url, release.c.released_on, release.c.event_id)
_opened = insert(grant).values(_row_params(grant)).on_conflict_do_nothing().returning(*grant.c).cte("opened")
_OPEN = (select(_opened, grant_end.c.ended_at, *(c.label(f"profile_{c.name}") for c in PROFILE_COLUMNS))
         .outerjoin(grant_end, grant_end.c.allocation_id == _opened.c.allocation_id)
         .outerjoin(application, application.c.application_id == _opened.c.application_id)
         .outerjoin(youth, youth.c.application_id == application.c.application_id)
         .outerjoin(release, release.c.application_id == application.c.application_id))
_GRANT = (select(grant, grant_end.c.ended_at)
          .outerjoin(grant_end, grant_end.c.allocation_id == grant.c.allocation_id)
          .where(grant.c.allocation_id == _ALLOCATION))
_GRANT_FOR_UPDATE = _GRANT.with_for_update(of=grant)


class GrantRepository:
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def open(self, new: Grant) -> tuple[Grant, Profile | None] | None:
        """None when the allocation is known already. Else the grant as stored, ended if its reclaim was read first,
        and its application's profile if billing has read it: one statement, the insert and the reads."""
        row = (await self._session.execute(_OPEN, {
            "allocation_id": new.allocation_id, "application_id": new.application_id, "program": new.program,
            "gpu_model": new.gpu_model, "gpus_by_csp": dict(new.gpus_by_csp),
            "starts_at": new.starts_at, "ends_at": new.ends_at,
        })).first()
        if row is None:
            return None
        m = row._mapping
        profile = {name.removeprefix("profile_"): value for name, value in m.items()
                   if isinstance(name, str) and name.startswith("profile_")}
        return _grant(m), (_profile(profile) if profile["application_id"] is not None else None)

    async def end(self, allocation_id: UUID, at: datetime) -> None:
        """The earliest end read stands, whichever order reclaims are read in."""
        stmt = insert(grant_end).values(allocation_id=allocation_id, ended_at=at)
        await self._session.execute(stmt.on_conflict_do_update(
            index_elements=[grant_end.c.allocation_id],
            set_={"ended_at": func.least(grant_end.c.ended_at, stmt.excluded.ended_at)}))

    async def get(self, allocation_id: UUID, *, for_update: bool = False) -> Grant | None:
        stmt = _GRANT_FOR_UPDATE if for_update else _GRANT
        row = (await self._session.execute(stmt, {"allocation_id": allocation_id})).first()
        return None if row is None else _grant(row._mapping)

    async def of_application(self, application_id: UUID) -> list[UUID]:
        stmt = select(grant.c.allocation_id).where(grant.c.application_id == application_id).order_by(
            grant.c.allocation_id)
        return list((await self._session.scalars(stmt)).all())

    async def priced_by(self, csp: str, gpu_model: str, effective_from: date) -> list[UUID]:
        """Allocations of the model on the CSP whose period runs past the day a price takes effect."""
        stmt = (select(grant.c.allocation_id)
                .where(grant.c.gpu_model == gpu_model, grant.c.ends_at > seoul_midnight(effective_from),
                       grant.c.gpus_by_csp.has_key(csp))
                .order_by(grant.c.allocation_id))
        return list((await self._session.scalars(stmt)).all())


def _grant(m: Any) -> Grant:
    per_csp = tuple(sorted((csp, int(n)) for csp, n in m["gpus_by_csp"].items()))
    return Grant(allocation_id=m["allocation_id"], application_id=m["application_id"], program=m["program"],
                 gpu_model=m["gpu_model"], gpus_by_csp=per_csp,
                 starts_at=m["starts_at"], ends_at=m["ends_at"], ended_at=m["ended_at"])


_PRICES_OF_MODEL = select(market_price).where(
    market_price.c.gpu_model == bindparam("gpu_model", type_=market_price.c.gpu_model.type))


class PriceRepository:
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def put(self, price: MarketPrice, event_id: UUID, at: datetime, by: str) -> None:
        """Set the price from its day on, replacing one set for the same day."""
        stmt = insert(market_price).values(**asdict(price), event_id=event_id, set_at=at, set_by=by)
        await self._session.execute(stmt.on_conflict_do_update(
            index_elements=[market_price.c.csp, market_price.c.gpu_model, market_price.c.effective_from],
            set_={"krw_per_gpu_hour": stmt.excluded.krw_per_gpu_hour, "event_id": stmt.excluded.event_id,
                  "set_at": stmt.excluded.set_at, "set_by": stmt.excluded.set_by}))

    async def of_model(self, gpu_model: str) -> list[MarketPrice]:
        rows = (await self._session.execute(_PRICES_OF_MODEL, {"gpu_model": gpu_model})).all()
        return [_price(r._mapping) for r in rows]

    async def every(self) -> list[dict[str, Any]]:
        stmt = select(market_price).order_by(market_price.c.csp, market_price.c.gpu_model,
                                             market_price.c.effective_from)
        return [dict(r._mapping) for r in (await self._session.execute(stmt)).all()]


def _price(m: Any) -> MarketPrice:
    return MarketPrice(m["csp"], m["gpu_model"], m["effective_from"], m["krw_per_gpu_hour"])


KEY_COLUMNS = (ledger_line.c.allocation_id, ledger_line.c.payer_key, ledger_line.c.csp, ledger_line.c.period_start,
               ledger_line.c.period_end, ledger_line.c.gpus, ledger_line.c.krw_per_gpu_hour,
               ledger_line.c.share_numerator, ledger_line.c.share_denominator)
DESCRIPTIVE = (ledger_line.c.application_id, ledger_line.c.partner_id, ledger_line.c.program,
               ledger_line.c.payer_kind, ledger_line.c.payer_name, ledger_line.c.gpu_model, ledger_line.c.gpu_minutes)


def _line(m: Any, amount: int) -> Line:
    key = LineKey(m["allocation_id"], m["payer_key"], m["csp"], m["period_start"], m["period_end"], m["gpus"],
                  m["krw_per_gpu_hour"], Fraction(m["share_numerator"], m["share_denominator"]))
    return Line(key, Payer(PayerKind(m["payer_kind"]), m["payer_key"], m["payer_name"]), m["application_id"],
                m["partner_id"], m["program"], m["gpu_model"], m["gpu_minutes"], amount)


# the descriptive columns follow from the key (its payer, allocation and segment), so grouping by them too changes no
# group
_POSTED = (select(*KEY_COLUMNS, *DESCRIPTIVE, func.sum(ledger_line.c.amount_krw).label("net"),
                  func.sum(ledger_line.c.direction).label("standing"))
           .where(ledger_line.c.allocation_id == bindparam("allocation_id", type_=ledger_line.c.allocation_id.type))
           .group_by(*KEY_COLUMNS, *DESCRIPTIVE))
# RETURNING makes it one statement per batch of rows (SQLAlchemy's "insertmanyvalues"); without it asyncpg runs the
# statement once per row
_APPEND = ledger_line.insert().returning(ledger_line.c.id)


class LedgerRepository:
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def posted(self, allocation_id: UUID) -> dict[LineKey, Posted]:
        """The net of the allocation's lines per key, and whether each key's charge stands."""
        out: dict[LineKey, Posted] = {}
        for row in (await self._session.execute(_POSTED, {"allocation_id": allocation_id})).all():
            m = row._mapping
            line = _line(m, int(m["net"]))
            out[line.key] = Posted(line, int(m["net"]), int(m["standing"]) > 0)
        return out

    async def append(self, lines: Sequence[Line], cause: Cause, at: datetime) -> None:
        if not lines:
            return
        await self._session.execute(_APPEND, [{
            "allocation_id": line.key.allocation_id, "application_id": line.application_id,
            "partner_id": line.partner_id, "program": line.program, "payer_kind": line.payer.kind.value,
            "payer_key": line.payer.key, "payer_name": line.payer.name, "csp": line.key.csp,
            "gpu_model": line.gpu_model, "period_start": line.key.period_start, "period_end": line.key.period_end,
            "gpus": line.key.gpus, "krw_per_gpu_hour": line.key.krw_per_gpu_hour,
            "share_numerator": line.key.share.numerator, "share_denominator": line.key.share.denominator,
            "gpu_minutes": line.gpu_minutes, "amount_krw": line.amount_krw, "direction": line.direction,
            "cause_event_id": cause.event_id, "cause_type": cause.type, "cause_at": cause.at, "posted_at": at,
        } for line in lines])

    async def unbilled(self, before: datetime) -> list[Unbilled]:
        """Every payer's line of a period starting before `before` not linked to an issued or paid document, oldest
        first. (A later period was never invoiced, so none of its keys can net to a credit yet.)"""
        billed = (select(document_ledger_line.c.ledger_line_id)
                  .join(document, document.c.id == document_ledger_line.c.document_id)
                  .where(document_ledger_line.c.ledger_line_id == ledger_line.c.id, document.c.status.in_(BILLED)))
        stmt = (select(ledger_line).where(ledger_line.c.payer_kind != PayerKind.GOVERNMENT.value,
                                          ledger_line.c.period_start < before, ~exists(billed))
                .order_by(ledger_line.c.id))
        return [Unbilled(r._mapping["id"], _line(r._mapping, r._mapping["amount_krw"]))
                for r in (await self._session.execute(stmt)).all()]

    async def lines(self, *, application_id: UUID | None = None, partner_id: UUID | None = None,
                    after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        stmt = select(ledger_line).where(ledger_line.c.id > after).order_by(ledger_line.c.id).limit(limit)
        if application_id is not None:
            stmt = stmt.where(ledger_line.c.application_id == application_id)
        if partner_id is not None:
            stmt = stmt.where(ledger_line.c.partner_id == partner_id)
        return [dict(r._mapping) for r in (await self._session.execute(stmt)).all()]

    async def settlement(self, month: date) -> list[dict[str, Any]]:
        """Per CSP for the month: GPU-minutes delivered, market value, what applicants and the government pay."""
        start = seoul_midnight(month)
        is_government = ledger_line.c.payer_kind == PayerKind.GOVERNMENT.value
        signed_minutes = ledger_line.c.gpu_minutes * ledger_line.c.direction
        stmt = (select(ledger_line.c.csp, ledger_line.c.gpu_model,
                       func.sum(signed_minutes).filter(is_government).label("gpu_minutes"),
                       func.sum(ledger_line.c.amount_krw).label("market_value_krw"),
                       func.coalesce(func.sum(ledger_line.c.amount_krw).filter(~is_government), 0)
                       .label("applicants_krw"),
                       func.coalesce(func.sum(ledger_line.c.amount_krw).filter(is_government), 0)
                       .label("government_krw"))
                .where(ledger_line.c.period_start >= start, ledger_line.c.period_start < next_month(start))
                .group_by(ledger_line.c.csp, ledger_line.c.gpu_model)
                .order_by(ledger_line.c.csp, ledger_line.c.gpu_model))
        return [dict(r._mapping) for r in (await self._session.execute(stmt)).all()]


class DocumentRepository:
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def lock_round(self) -> None:
        """One invoicing round at a time, whichever worker runs it (held to the end of the transaction)."""
        await self._session.execute(select(func.pg_advisory_xact_lock(ROUND_LOCK)))

    async def drop_drafts(self) -> None:
        """Drafts are redrawn from the ledger each round; issued documents never change."""
        await self._session.execute(document.delete().where(document.c.status == DocumentStatus.DRAFT.value))

    async def ordinal(self, draft: Draft) -> int:
        """How many documents of the kind the payer has for the month already: the new one's place among them."""
        return int(await self._session.scalar(
            select(func.count()).select_from(document).where(
                document.c.kind == draft.kind.value, document.c.partner_id == draft.partner_id,
                document.c.payer_key == draft.payer.key, document.c.month == draft.month)) or 0)

    async def add_draft(self, document_id: UUID, draft: Draft, credits: Sequence[str], reason: str | None,
                        at: datetime, busy: dict[tuple[UUID, datetime, datetime], Decimal]) -> None:
        await self._session.execute(document.insert().values(
            id=document_id, kind=draft.kind.value, status=DocumentStatus.DRAFT.value, partner_id=draft.partner_id,
            payer_kind=draft.payer.kind.value, payer_key=draft.payer.key, payer_name=draft.payer.name,
            month=draft.month, total_krw=abs(draft.total_krw), reason=reason, credits=list(credits),
            drafted_at=at))
        # RETURNING: one statement per batch of rows ("insertmanyvalues"), as in LedgerRepository.append
        await self._session.execute(document_line.insert().returning(document_line.c.position), [{
            "document_id": document_id, "position": i, "application_id": line.application_id,
            "allocation_id": line.key.allocation_id, "program": line.program, "csp": line.key.csp,
            "gpu_model": line.gpu_model, "gpus": line.key.gpus, "period_start": line.key.period_start,
            "period_end": line.key.period_end, "gpu_minutes": line.gpu_minutes,
            "krw_per_gpu_hour": line.key.krw_per_gpu_hour, "share_numerator": line.key.share.numerator,
            "share_denominator": line.key.share.denominator, "amount_krw": line.amount_krw,
            "busy_gpu_hours": busy.get((line.key.allocation_id, line.key.period_start, line.key.period_end)),
        } for i, line in enumerate(draft.lines, start=1)])
        await self._session.execute(document_ledger_line.insert().returning(document_ledger_line.c.ledger_line_id), [
            {"document_id": document_id, "ledger_line_id": i} for i in draft.ledger_line_ids])

    async def invoices_billing(self, keys: Iterable[LineKey]) -> list[str]:
        """The numbers of the standing invoices that billed any of the keys."""
        conditions = [and_(document.c.payer_key == k.payer_key, document_line.c.allocation_id == k.allocation_id,
                           document_line.c.csp == k.csp, document_line.c.period_start == k.period_start,
                           document_line.c.period_end == k.period_end) for k in keys]
        if not conditions:
            return []
        stmt = (select(document.c.number).distinct()
                .join(document_line, document_line.c.document_id == document.c.id)
                .where(document.c.kind == DocumentKind.INVOICE.value, document.c.status.in_(BILLED), or_(*conditions))
                .order_by(document.c.number))
        return [n for n in (await self._session.scalars(stmt)).all() if n is not None]

    async def next_number(self, kind: DocumentKind, year: int) -> int:
        """The next number of the kind's series for the year; the row lock makes concurrent issuers wait in turn."""
        stmt = insert(document_counter).values(kind=kind.value, year=year, last=1)
        stmt = stmt.on_conflict_do_update(index_elements=[document_counter.c.kind, document_counter.c.year],
                                          set_={"last": document_counter.c.last + 1})
        return int(await self._session.scalar(stmt.returning(document_counter.c.last)) or 0)

    async def drafts_due(self, drafted_by: datetime) -> list[dict[str, Any]]:
        stmt = (select(document).where(document.c.status == DocumentStatus.DRAFT.value,
                                       document.c.drafted_at <= drafted_by)
                .order_by(document.c.kind, document.c.partner_id, document.c.payer_key, document.c.month)
                .with_for_update())
        return [dict(r._mapping) for r in (await self._session.execute(stmt)).all()]

    async def set_status(self, document_id: UUID, status: DocumentStatus, **values: Any) -> None:
        await self._session.execute(update(document).where(document.c.id == document_id)
                                    .values(status=status.value, **values))

    async def get(self, document_id: UUID, *, for_update: bool = False) -> Document | None:
        stmt = select(document).where(document.c.id == document_id)
        row = (await self._session.execute(stmt.with_for_update() if for_update else stmt)).first()
        if row is None:
            return None
        lines = (await self._session.execute(select(document_line).where(document_line.c.document_id == document_id)
                                             .order_by(document_line.c.position))).all()
        return _document(row._mapping, [_document_line(r._mapping) for r in lines])

    async def find(self, *, partner_id: UUID | None = None, month: date | None = None,
                   status: DocumentStatus | None = None, kind: DocumentKind | None = None,
                   application_id: UUID | None = None, issued_only: bool = False, limit: int = 50) -> list[Document]:
        stmt = select(document).order_by(document.c.month.desc(), document.c.number, document.c.id).limit(limit)
        if issued_only:
            stmt = stmt.where(document.c.status != DocumentStatus.DRAFT.value)
        if application_id is not None:
            stmt = stmt.where(exists(select(document_line.c.document_id).where(
                document_line.c.document_id == document.c.id, document_line.c.application_id == application_id)))
        if partner_id is not None:
            stmt = stmt.where(document.c.partner_id == partner_id)
        if month is not None:
            stmt = stmt.where(document.c.month == month)
        if status is not None:
            stmt = stmt.where(document.c.status == status.value)
        if kind is not None:
            stmt = stmt.where(document.c.kind == kind.value)
        rows = (await self._session.execute(stmt)).all()
        ids = [r._mapping["id"] for r in rows]
        lines: dict[UUID, list[DocumentLine]] = {i: [] for i in ids}
        if ids:
            for r in (await self._session.execute(select(document_line).where(document_line.c.document_id.in_(ids))
                                                  .order_by(document_line.c.position))).all():
                lines[r._mapping["document_id"]].append(_document_line(r._mapping))
        return [_document(r._mapping, lines[r._mapping["id"]]) for r in rows]


def _document_line(m: Any) -> DocumentLine:
    key = LineKey(m["allocation_id"], "", m["csp"], m["period_start"], m["period_end"], m["gpus"],
                  m["krw_per_gpu_hour"], Fraction(m["share_numerator"], m["share_denominator"]))
    busy = m["busy_gpu_hours"]
    return DocumentLine(key, m["application_id"], m["program"], m["gpu_model"], m["gpu_minutes"], m["amount_krw"],
                        busy_gpu_hours=Decimal(busy) if busy is not None else None)


def _document(m: Any, lines: list[DocumentLine]) -> Document:
    return Document(
        id=m["id"], kind=DocumentKind(m["kind"]), number=m["number"], status=DocumentStatus(m["status"]),
        partner_id=m["partner_id"], payer=Payer(PayerKind(m["payer_kind"]), m["payer_key"], m["payer_name"]),
        month=m["month"], total_krw=m["total_krw"], reason=m["reason"], credits=tuple(m["credits"]),
        drafted_at=m["drafted_at"], issued_at=m["issued_at"], paid_at=m["paid_at"],
        payment_reference=m["payment_reference"], voided_at=m["voided_at"], void_reason=m["void_reason"],
        lines=tuple(lines))


class UsageRepository:
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def add(self, entry: UsageEntry) -> None:
        await self._session.execute(insert(usage_entry).values(asdict(entry)).on_conflict_do_nothing())

    async def busy_gpu_hours(self, allocation_id: UUID, start: datetime, end: datetime) -> Decimal:
        """GPU-hours telemetry measured busy in windows starting within [start, end); for information."""
        total = await self._session.scalar(
            select(func.coalesce(func.sum(usage_entry.c.gpu_hours), 0))
            .where(usage_entry.c.allocation_id == allocation_id, usage_entry.c.window_start >= start,
                   usage_entry.c.window_start < end))
        return Decimal(total or 0)
