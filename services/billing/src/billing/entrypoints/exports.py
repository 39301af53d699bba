"""Invoices and credit notes as CSV and as a printable HTML page (Korean or English), the CSPs' settlement as CSV.

Pure rendering: a document or a settlement in, bytes or text out. The figures are the API's own (`DocumentOut`,
`DocumentLineOut`, `SettlementOut`): GPU-hours and shares as the same exact decimals, money as integer KRW.

- **CSV** (RFC 4180: `\\r\\n`, quoted where needed), UTF-8 with a byte-order mark so that Excel reads Korean. One
  header row of column names, one row per line (each row names its document, so no header block is mixed into the
  table), then a total row marked `TOTAL` (an invoice's in `application_id`, the settlement's in `csp`). A document's
  total is the sum of its lines as shown, so a credit note's is negative like its lines (the JSON's `total_krw` is
  the amount credited back, positive). A text cell
  that a spreadsheet would read as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return: a payer's
  or a CSP's name) is prefixed with `'`; numbers, negative amounts of a credit note included, stay numbers.
- **HTML**: one self-contained page (inline CSS, no script, no external asset), every value escaped; times in Korea
  (Asia/Seoul).
"""
from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from html import escape
from typing import Literal

from billing.domain.ledger import SEOUL, Document
from billing.entrypoints.schemas import DocumentLineOut, DocumentOut, SettlementOut, decimal_hours

Lang = Literal["ko", "en"]
TOTAL = "TOTAL"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
INVOICE_COLUMNS = ("document_number", "kind", "status", "month", "payer", "application_id", "allocation_id",
                   "program", "csp", "gpu_model", "gpus", "period_start", "period_end", "gpu_hours",
                   "krw_per_gpu_hour", "share_pct", "amount_krw", "busy_gpu_hours")
SETTLEMENT_COLUMNS = ("csp", "gpu_model", "gpu_hours", "market_value_krw", "applicants_krw", "government_krw")
Cell = str | int | Decimal | None


# --- CSV ------------------------------------------------------------------------------------------------------------

def safe_cell(value: Cell) -> Cell:
    """A text cell a spreadsheet would take for a formula, defused with a leading `'`; anything else as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _csv(rows: Iterable[Sequence[Cell]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")


def _month(month: date) -> str:
    return f"{month:%Y-%m}"


def _seoul(at: datetime) -> datetime:
    return at.astimezone(SEOUL)


def document_filename(doc: Document, extension: str) -> str:
    """`INV-2027-000001.csv`; a draft, which has no number yet, by its id."""
    return f"{doc.number or doc.id}.{extension}"


def settlement_filename(month: date) -> str:
    return f"settlement-{_month(month)}.csv"


def _total(out: DocumentOut) -> int:
    """The sum of the lines as shown: negative on a credit note."""
    return sum(line.amount_krw for line in out.lines)


def document_csv(doc: Document) -> bytes:
    out = DocumentOut.of(doc)
    head: list[Cell] = [out.number or str(out.id), out.kind, out.status, _month(out.month), out.payer_name]
    rows: list[list[Cell]] = [list(INVOICE_COLUMNS)]
    for line in out.lines:
        rows.append([*head, str(line.application_id), str(line.allocation_id), line.program, line.csp,
                     line.gpu_model, line.gpus, _seoul(line.period_start).isoformat(),
                     _seoul(line.period_end).isoformat(), line.gpu_hours, line.krw_per_gpu_hour, line.share_pct,
                     line.amount_krw, line.busy_gpu_hours])
    busy = [line.busy_gpu_hours for line in out.lines if line.busy_gpu_hours is not None]
    rows.append([*head, TOTAL, None, None, None, None, None, None, None,
                 decimal_hours(sum(line.gpu_minutes for line in doc.lines)), None, None, _total(out),
                 sum(busy, Decimal(0)) if busy else None])
    return _csv(rows)


def settlement_csv(settlement: SettlementOut) -> bytes:
    rows: list[list[Cell]] = [list(SETTLEMENT_COLUMNS)]
    rows += [[r.csp, r.gpu_model, r.gpu_hours, r.market_value_krw, r.applicants_krw, r.government_krw]
             for r in settlement.rows]
    rows.append([TOTAL, None, sum((r.gpu_hours for r in settlement.rows), Decimal(0)),
                 settlement.total_market_value_krw, settlement.total_applicants_krw, settlement.total_government_krw])
    return _csv(rows)


# --- HTML -----------------------------------------------------------------------------------------------------------

LABELS: dict[Lang, dict[str, str]] = {
    "ko": {
        "invoice": "청구서", "credit_note": "대변표", "number": "문서 번호", "unnumbered": "초안 (번호 미부여)",
        "id": "문서 ID", "status": "상태", "month": "대상 월", "payer": "납부자", "partner": "파트너",
        "drafted": "작성일", "issued": "발행일", "paid": "납부일", "payment_reference": "입금 참조",
        "voided": "무효 처리일", "void_reason": "무효 사유", "lines": "내역", "period": "기간", "csp": "CSP",
        "gpu_model": "GPU 모델", "gpus": "GPU 수", "gpu_hours": "GPU 시간", "price": "GPU 시간당 단가",
        "share": "부담 비율", "amount": "금액", "busy": "사용 GPU 시간", "total": "합계",
        "credits": "대상 청구서", "reason": "사유", "none": "—",
        "status.draft": "초안", "status.issued": "발행", "status.paid": "납부 완료", "status.void": "무효",
        "payer.applicant": "신청 기관", "payer.participant": "참여 기업", "payer.government": "정부",
        "reason.open_source_release": "오픈소스 공개에 따른 면제", "reason.correction": "정정",
        "note": "모든 일시는 한국 시간(Asia/Seoul) 기준입니다. GPU 시간은 예약된 GPU 수 \u00d7 기간이며, "
                "사용 GPU 시간은 참고용으로 청구되지 않습니다.",
    },
    "en": {
        "invoice": "Invoice", "credit_note": "Credit note", "number": "Number", "unnumbered": "Draft (not numbered)",
        "id": "Document ID", "status": "Status", "month": "Month", "payer": "Payer", "partner": "Partner",
        "drafted": "Drafted", "issued": "Issued", "paid": "Paid", "payment_reference": "Payment reference",
        "voided": "Voided", "void_reason": "Reason for voiding", "lines": "Lines", "period": "Period",
        "csp": "CSP", "gpu_model": "GPU model", "gpus": "GPUs", "gpu_hours": "GPU-hours",
        "price": "Price per GPU-hour", "share": "Share", "amount": "Amount", "busy": "Busy GPU-hours",
        "total": "Total", "credits": "Invoices credited", "reason": "Reason", "none": "—",
        "status.draft": "Draft", "status.issued": "Issued", "status.paid": "Paid", "status.void": "Void",
        "payer.applicant": "applicant", "payer.participant": "corporate participant",
        "payer.government": "government",
        "reason.open_source_release": "Waived: results released as open source", "reason.correction": "Correction",
        "note": "All times are Korea time (Asia/Seoul). GPU-hours are the reserved GPUs \u00d7 the period; busy "
                "GPU-hours are shown for information and not billed.",
    },
}
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
             "November", "December")
STYLE = """
*{box-sizing:border-box}
body{margin:0;padding:24px;font-family:"Noto Sans KR","Apple SD Gothic Neo","Malgun Gothic",Arial,sans-serif;
color:#111;background:#fff;font-size:14px;line-height:1.5}
main{max-width:1100px;margin:0 auto}
header{display:flex;justify-content:space-between;align-items:baseline;border-bottom:2px solid #111;margin-bottom:16px}
h1{font-size:28px;margin:0 0 8px}
h2{font-size:16px;margin:24px 0 8px}
.number{font-size:18px;font-weight:bold;font-family:monospace}
.status-void{color:#b00020;font-weight:bold}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0 0 16px}
dt{color:#555}
dd{margin:0}
table{width:100%;border-collapse:collapse}
th,td{border:1px solid #bbb;padding:4px 6px;vertical-align:top}
th{background:#f2f2f2;text-align:left}
td.n,th.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
tfoot th,tfoot td{font-weight:bold;background:#f2f2f2}
.total{font-size:18px;font-weight:bold;text-align:right;margin-top:12px}
footer{margin-top:24px;color:#555;font-size:12px}
@media print{body{padding:0;font-size:11px}th{background:#eee}@page{size:A4 landscape;margin:12mm}}
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def money(amount: int, lang: Lang) -> str:
    """`1,152,000원` or `KRW 1,152,000` (negative on a credit note)."""
    return f"{amount:,}원" if lang == "ko" else f"KRW {amount:,}"


def decimal(value: Decimal) -> str:
    """Thousands separated, no trailing zeros: 5,952, 58.5."""
    text = f"{value:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def month_label(month: date, lang: Lang) -> str:
    return f"{month.year}년 {month.month}월" if lang == "ko" else f"{MONTHS_EN[month.month - 1]} {month.year}"


def _day(at: datetime | None, none: str) -> str:
    return none if at is None else f"{_seoul(at):%Y-%m-%d}"


def _minute(at: datetime) -> str:
    return f"{_seoul(at):%Y-%m-%d %H:%M}"


def _facts(out: DocumentOut, words: dict[str, str], lang: Lang) -> list[tuple[str, str]]:
    facts = [
        (words["number"], out.number or words["unnumbered"]),
        (words["id"], str(out.id)),
        (words["status"], words[f"status.{out.status}"]),
        (words["month"], month_label(out.month, lang)),
        (words["payer"], f"{out.payer_name} ({words.get('payer.' + out.payer_kind, out.payer_kind)})"),
        (words["partner"], str(out.partner_id)),
        (words["drafted"], _day(out.drafted_at, words["none"])),
        (words["issued"], _day(out.issued_at, words["none"])),
    ]
    if out.kind == "invoice":
        facts.append((words["paid"], _day(out.paid_at, words["none"])))
        if out.payment_reference:
            facts.append((words["payment_reference"], out.payment_reference))
    if out.voided_at is not None:
        facts += [(words["voided"], _day(out.voided_at, words["none"])),
                  (words["void_reason"], out.void_reason or words["none"])]
    return facts


def _line_row(line: DocumentLineOut, words: dict[str, str], lang: Lang) -> str:
    busy = words["none"] if line.busy_gpu_hours is None else decimal(line.busy_gpu_hours)
    cells = [(f"{_minute(line.period_start)} ~ {_minute(line.period_end)}", ""), (line.csp, ""),
             (line.gpu_model, ""), (f"{line.gpus:,}", "n"), (decimal(line.gpu_hours), "n"),
             (money(line.krw_per_gpu_hour, lang), "n"), (f"{decimal(line.share_pct)}%", "n"),
             (money(line.amount_krw, lang), "n"), (busy, "n")]
    return "<tr>" + "".join(f'<td class="{c}">{_e(v)}</td>' if c else f"<td>{_e(v)}</td>" for v, c in cells) + "</tr>"


def document_html(doc: Document, lang: Lang = "ko") -> str:
    """The document as a printable page, labelled in Korean or English; every value escaped."""
    out = DocumentOut.of(doc)
    words = LABELS[lang]
    title = words[out.kind]
    heading = f"{title} {out.number}" if out.number else title
    status_class = ' class="status-void"' if out.status == "void" else ""
    facts = "".join(f"<dt>{_e(k)}</dt><dd{status_class if k == words['status'] else ''}>{_e(v)}</dd>"
                    for k, v in _facts(out, words, lang))
    columns = [("period", ""), ("csp", ""), ("gpu_model", ""), ("gpus", "n"), ("gpu_hours", "n"), ("price", "n"),
               ("share", "n"), ("amount", "n"), ("busy", "n")]
    head = "".join(f'<th class="{c}" scope="col">{_e(words[k])}</th>' if c else f'<th scope="col">{_e(words[k])}</th>'
                   for k, c in columns)
    body = "".join(_line_row(line, words, lang) for line in out.lines)
    total = money(_total(out), lang)
    credit = ""
    if out.kind == "credit_note":
        credited = "".join(f"<li>{_e(n)}</li>" for n in out.credits) or f"<li>{_e(words['none'])}</li>"
        reason = words.get(f"reason.{out.reason}", out.reason or words["none"])
        credit = (f'<section><h2>{_e(words["credits"])}</h2><ul class="credits">{credited}</ul>'
                  f'<h2>{_e(words["reason"])}</h2><p class="reason">{_e(reason)}</p></section>')
    return (
        f'<!DOCTYPE html>\n<html lang="{_e(lang)}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(heading)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
        f'<header><h1>{_e(title)}</h1><span class="number">{_e(out.number or words["unnumbered"])}</span></header>\n'
        f"<dl>{facts}</dl>\n"
        f'<h2>{_e(words["lines"])}</h2>\n'
        f"<table><thead><tr>{head}</tr></thead>\n<tbody>{body}</tbody>\n"
        f'<tfoot><tr><th colspan="7" scope="row">{_e(words["total"])}</th><td class="n">{_e(total)}</td>'
        f"<td></td></tr></tfoot></table>\n"
        f'<p class="total">{_e(words["total"])}: {_e(total)}</p>\n'
        f"{credit}\n"
        f'<footer>{_e(words["note"])}</footer>\n</main>\n</body>\n</html>\n'
    )
