"""Billing's exports: an invoice or a credit note as CSV or as a printable HTML page, a month's CSP settlement as CSV.

Access is the JSON routes' own: a document for operators and the partner that owns it (another partner's is a 404),
the settlement for operators; the figures are the JSON routes' too (`exports` renders them).
"""
from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response

from billing.entrypoints import exports
from billing.entrypoints.deps import Uow
from billing.entrypoints.routes import RESPONSES, Month, Reader, _visible, settlement
from servicekit.auth import OPERATOR_ONLY

PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'"
NOSNIFF = {"X-Content-Type-Options": "nosniff"}


class CsvResponse(Response):
    media_type = "text/csv"  # Starlette adds "; charset=utf-8"


def _described(what: str, headers: dict[str, str]) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": what,
                  "headers": {name: {"description": about, "schema": {"type": "string"}}
                              for name, about in {**headers, **NOSNIFF}.items()}}}


DOCUMENT_FILE = {"Content-Disposition": 'attachment; filename="INV-2027-000001.csv" (a draft: its id)'}
SETTLEMENT_FILE = {"Content-Disposition": 'attachment; filename="settlement-2026-12.csv"'}
PAGE = {"Content-Security-Policy": PAGE_CSP}

document_exports = APIRouter(prefix="/invoices", tags=["invoices"], responses=RESPONSES)
settlement_exports = APIRouter(prefix="/settlements", tags=["settlements"], responses=RESPONSES,
                               dependencies=[OPERATOR_ONLY])


def _attachment(body: bytes, filename: str) -> CsvResponse:
    return CsvResponse(body, headers={"Content-Disposition": f'attachment; filename="{filename}"', **NOSNIFF})


@document_exports.get("/{document_id}/csv", response_class=CsvResponse,
                      responses=_described("The document's lines, one row each, then a total row (UTF-8 with a BOM)",
                                           DOCUMENT_FILE),
                      summary="One invoice or credit note as CSV",
                      description="Columns: document_number, kind, status, month, payer, application_id, "
                                  "allocation_id, program, csp, gpu_model, gpus, period_start, period_end (Korea "
                                  "time), gpu_hours, krw_per_gpu_hour, share_pct, amount_krw (negative on a credit "
                                  "note), busy_gpu_hours; the last row totals gpu_hours, amount_krw and "
                                  "busy_gpu_hours, marked TOTAL in application_id. Text that a spreadsheet would "
                                  "read as a formula is prefixed with '.")
async def document_csv(document_id: UUID, uow: Uow, caller: Reader) -> Response:
    doc = _visible(await uow.documents.get(document_id), caller, document_id)
    return _attachment(exports.document_csv(doc), exports.document_filename(doc, "csv"))


@document_exports.get("/{document_id}/html", response_class=HTMLResponse,
                      responses=_described("A self-contained, printable page", PAGE),
                      summary="One invoice or credit note as a readable, printable page (Korean or English)")
async def document_html(document_id: UUID, uow: Uow, caller: Reader,
                        lang: Annotated[exports.Lang, Query(description="The page's language.")] = "ko",
                        ) -> Response:
    doc = _visible(await uow.documents.get(document_id), caller, document_id)
    return HTMLResponse(exports.document_html(doc, lang), headers={**PAGE, **NOSNIFF})


@settlement_exports.get("/{month}/csv", response_class=CsvResponse,
                        responses=_described("One row per CSP and GPU model, then a total row (UTF-8 with a BOM)",
                                             SETTLEMENT_FILE),
                        summary="A month's CSP settlement as CSV",
                        description="Columns: csp, gpu_model, gpu_hours, market_value_krw, applicants_krw, "
                                    "government_krw; the last row, marked TOTAL in csp, holds the totals of "
                                    "GET /settlements/{month}.")
async def settlement_csv(month: Month, uow: Uow) -> Response:
    out = await settlement(month, uow)
    return _attachment(exports.settlement_csv(out), exports.settlement_filename(out.month))
