"""Billing's API: market prices, open-source releases, the ledger, invoices and credit notes, CSP settlements.

Every route wants an access token. Any role reads the market prices. A partner reads its own documents and ledger
lines (another partner's document is a 404, as if it did not exist); operators read everything and alone change
anything.
"""
from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query

from billing.domain.commands import (
    IssueDocument,
    RecordPayment,
    RecordRelease,
    RunInvoicing,
    SetMarketPrice,
    VoidDocument,
)
from billing.domain.errors import DocumentNotFound
from billing.domain.ledger import Document, DocumentKind, DocumentStatus, MarketPrice
from billing.entrypoints.deps import Bus, Uow
from billing.entrypoints.schemas import (
    BoundedDay,
    Csp,
    DocumentOut,
    GpuModel,
    LedgerLineOut,
    LedgerPage,
    MarketPriceIn,
    MarketPriceOut,
    PaymentIn,
    ReleaseIn,
    ReleaseOut,
    SettlementOut,
    SettlementRow,
    VoidIn,
    decimal_hours,
    decimal_percent,
)
from servicekit.auth import AUTH_RESPONSES, OPERATOR_ONLY, authenticated, require
from servicekit.auth.dependencies import Operator
from servicekit.auth.tokens import Principal
from servicekit.http import PROBLEM_RESPONSES
from servicekit.runtime import Now

RESPONSES = {**PROBLEM_RESPONSES, **AUTH_RESPONSES}
Reader = Annotated[Principal, Depends(require("operator", "partner"))]
# a month of the years every date of the platform falls in (1900 to 2199, servicekit.bounds)
Month = Annotated[str, Path(pattern=r"^(19|2[01])[0-9]{2}-(0[1-9]|1[0-2])$", description="YYYY-MM, 1900 to 2199",
                            examples=["2026-12"])]
MAX_PAGE = 500

prices = APIRouter(prefix="/market-prices", tags=["market prices"], responses=RESPONSES,
                   dependencies=[Depends(authenticated)])
releases = APIRouter(tags=["open-source releases"], responses=RESPONSES, dependencies=[OPERATOR_ONLY])
documents = APIRouter(prefix="/invoices", tags=["invoices"], responses=RESPONSES)
ledger = APIRouter(prefix="/ledger", tags=["ledger"], responses=RESPONSES)
settlements = APIRouter(prefix="/settlements", tags=["settlements"], responses=RESPONSES,
                        dependencies=[OPERATOR_ONLY])


@prices.put("/{csp}/{gpu_model}/{effective_from}", response_model=MarketPriceOut, dependencies=[OPERATOR_ONLY],
            summary="Set a CSP's market price of a GPU model's GPU-hour from a day on",
            description="The price applies from the day (Korea's calendar) until the next price; periods that "
                        "straddle the day are split, and allocations already billed past it are repriced by "
                        "correcting lines. Setting the same day again replaces that day's price.")
async def put_price(csp: Annotated[Csp, Path()], gpu_model: Annotated[GpuModel, Path()],
                    effective_from: Annotated[BoundedDay, Path()], body: MarketPriceIn, bus: Bus,
                    caller: Operator) -> MarketPriceOut:
    event = await bus.handle(SetMarketPrice(MarketPrice(csp, gpu_model, effective_from, body.krw_per_gpu_hour),
                                            by=caller.client_id))
    return MarketPriceOut(csp=event.csp, gpu_model=event.gpu_model, effective_from=event.effective_from,
                          krw_per_gpu_hour=event.krw_per_gpu_hour, event_id=event.id, set_at=event.occurred_at,
                          set_by=caller.client_id)


@prices.get("", response_model=list[MarketPriceOut],
            summary="Every market price set; a CSP and model with none are priced at the default")
async def list_prices(uow: Uow) -> list[MarketPriceOut]:
    return [MarketPriceOut.model_validate(p) for p in await uow.prices.every()]


@releases.post("/applications/{application_id}/open-source-release", response_model=ReleaseOut, status_code=201,
               summary="Record a P2 project's results released as open source",
               description="Its corporate participants owe nothing from then on, and what they were invoiced is "
                           "credited back by a credit note in the next invoicing round. 404 if billing has not read "
                           "the application, 409 if a release is recorded already, 422 if it is not a P2 project.")
async def record_release(application_id: UUID, body: ReleaseIn, bus: Bus, caller: Operator) -> ReleaseOut:
    event = await bus.handle(RecordRelease(application_id, body.url, body.released_on, by=caller.client_id))
    return ReleaseOut(application_id=application_id, url=event.url, released_on=event.released_on,
                      event_id=event.id)


def _visible(doc: Document | None, caller: Principal, document_id: UUID) -> Document:
    """The document, if the caller may see it: a partner its own once issued (a draft is the operators' to review)."""
    if doc is None or (caller.role == "partner" and (doc.partner_id != caller.partner_id
                                                     or doc.status is DocumentStatus.DRAFT)):
        raise DocumentNotFound(f"no document {document_id}")
    return doc


@documents.get("", response_model=list[DocumentOut],
               summary="Invoices and credit notes, newest month first (a partner's own once issued); `application_id`: "
                       "those with a line of the application")
async def list_documents(uow: Uow, caller: Reader, month: BoundedDay | None = None,
                         status: DocumentStatus | None = None, kind: DocumentKind | None = None,
                         application_id: UUID | None = None,
                         limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[DocumentOut]:
    partner = caller.partner_id if caller.role == "partner" else None
    found = await uow.documents.find(partner_id=partner, month=month, status=status, kind=kind,
                                     application_id=application_id, issued_only=partner is not None, limit=limit)
    return [DocumentOut.of(d) for d in found]


@documents.get("/{document_id}", response_model=DocumentOut, summary="One invoice or credit note")
async def get_document(document_id: UUID, uow: Uow, caller: Reader) -> DocumentOut:
    return DocumentOut.of(_visible(await uow.documents.get(document_id), caller, document_id))


@documents.post("/rounds", response_model=list[DocumentOut], dependencies=[OPERATOR_ONLY],
                summary="Run an invoicing round now (the worker runs one on its clock)",
                description="Drafts are redrawn from the ledger; the documents issued by the round are returned.")
async def run_round(bus: Bus, now: Now) -> list[DocumentOut]:
    return [DocumentOut.of(d) for d in await bus.handle(RunInvoicing(at=now()))]


@documents.post("/{document_id}/issue", response_model=DocumentOut, summary="Issue a draft now")
async def issue(document_id: UUID, bus: Bus, caller: Operator) -> DocumentOut:
    return DocumentOut.of(await bus.handle(IssueDocument(document_id, by=caller.client_id)))


@documents.post("/{document_id}/payment", response_model=DocumentOut, summary="Record an issued invoice paid")
async def pay(document_id: UUID, body: PaymentIn, bus: Bus, caller: Operator) -> DocumentOut:
    return DocumentOut.of(await bus.handle(RecordPayment(document_id, body.paid_on, body.reference,
                                                         by=caller.client_id)))


@documents.post("/{document_id}/void", response_model=DocumentOut,
                summary="Void an issued, unpaid invoice; its lines are drafted again in the next round")
async def void(document_id: UUID, body: VoidIn, bus: Bus, caller: Operator) -> DocumentOut:
    return DocumentOut.of(await bus.handle(VoidDocument(document_id, body.reason, by=caller.client_id)))


def _ledger_line(row: dict[str, Any]) -> LedgerLineOut:
    share = Fraction(row["share_numerator"], row["share_denominator"])
    derived = {"share_pct", "gpu_hours", "direction"}
    return LedgerLineOut(**{k: v for k, v in row.items() if k in LedgerLineOut.model_fields and k not in derived},
                         share_pct=decimal_percent(share), gpu_hours=decimal_hours(row["gpu_minutes"]),
                         direction="charge" if row["direction"] == 1 else "reversal")


@ledger.get("", response_model=LedgerPage, summary="The ledger's lines in the order posted (a partner's own only)",
            description="Append-only: a correction is a new line. Each line names the event it was posted for.")
async def ledger_lines(uow: Uow, caller: Reader, application_id: UUID | None = None,
                       after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
                       limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100) -> LedgerPage:
    partner = caller.partner_id if caller.role == "partner" else None
    rows = await uow.ledger.lines(application_id=application_id, partner_id=partner, after=after, limit=limit)
    return LedgerPage(items=[_ledger_line(r) for r in rows], next_after=rows[-1]["id"] if len(rows) == limit else None)


@settlements.get("/{month}", response_model=SettlementOut,
                 summary="What each CSP is owed for a month: GPU-hours delivered x market price, split into what "
                         "applicants pay and what the government pays")
async def settlement(month: Month, uow: Uow) -> SettlementOut:
    first = date.fromisoformat(f"{month}-01")
    rows = [SettlementRow(csp=r["csp"], gpu_model=r["gpu_model"],
                          gpu_hours=decimal_hours(int(r["gpu_minutes"] or 0)),
                          market_value_krw=int(r["market_value_krw"]), applicants_krw=int(r["applicants_krw"]),
                          government_krw=int(r["government_krw"])) for r in await uow.ledger.settlement(first)]
    return SettlementOut(month=first, rows=rows, total_market_value_krw=sum(r.market_value_krw for r in rows),
                         total_applicants_krw=sum(r.applicants_krw for r in rows),
                         total_government_krw=sum(r.government_krw for r in rows))
