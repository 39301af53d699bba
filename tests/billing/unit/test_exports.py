"""Invoices, credit notes and settlements rendered as CSV and HTML, from documents written by hand: the CSV reads back
to the expected cells, a formula is never smuggled into a spreadsheet, and the page escapes what partners wrote."""
from __future__ import annotations

import codecs
import csv
import io
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction
from html.parser import HTMLParser
from uuid import UUID

import pytest

from billing.domain.ledger import (
    Document,
    DocumentKind,
    DocumentLine,
    DocumentStatus,
    LineKey,
    Payer,
    PayerKind,
)
from billing.entrypoints.exports import (
    decimal,
    document_csv,
    document_filename,
    document_html,
    money,
    safe_cell,
    settlement_csv,
    settlement_filename,
)
from billing.entrypoints.schemas import SettlementOut, SettlementRow

DOCUMENT = UUID("00000000-0000-4000-8000-00000000d0c1")
PARTNER = UUID("00000000-0000-4000-8000-0000000000a1")
APPLICATION = UUID("00000000-0000-4000-8000-0000000a9911")
ALLOCATION = UUID("00000000-0000-4000-8000-00000000a110")
PAYER = Payer(PayerKind.APPLICANT, "brn:1234567891", "해달 AI")
HEADER = ["document_number", "kind", "status", "month", "payer", "application_id", "allocation_id", "program", "csp",
          "gpu_model", "gpus", "period_start", "period_end", "gpu_hours", "krw_per_gpu_hour", "share_pct",
          "amount_krw", "busy_gpu_hours"]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def a_line(*, csp: str = "ncloud", start: str = "2026-11-30T15:00", end: str = "2026-12-16T15:00", gpus: int = 4,
           rate: int = 4_000, share: Fraction = Fraction(3, 10), amount: int = 576_000,
           busy: Decimal | None = Decimal("812.25")) -> DocumentLine:
    """A line of nCloud's H100s, its GPU-minutes from the period; the amount is the test's own."""
    key = LineKey(ALLOCATION, PAYER.key, csp, utc(start), utc(end), gpus, rate, share)
    minutes = gpus * int((utc(end) - utc(start)).total_seconds() // 60)
    return DocumentLine(key, APPLICATION, "P1", "H100", minutes, amount, busy)


def an_invoice(*lines: DocumentLine, payer: Payer = PAYER, number: str | None = "INV-2027-000001",
               status: DocumentStatus = DocumentStatus.ISSUED) -> Document:
    lines = lines or (a_line(),)
    return Document(
        id=DOCUMENT, kind=DocumentKind.INVOICE, number=number, status=status, partner_id=PARTNER, payer=payer,
        month=date(2026, 12, 1), total_krw=abs(sum(line.amount_krw for line in lines)), reason=None, credits=(),
        drafted_at=utc("2026-12-31T16:00"), issued_at=None if number is None else utc("2026-12-31T16:00"),
        paid_at=None, payment_reference=None, voided_at=None, void_reason=None, lines=lines)


def a_credit_note() -> Document:
    # two invoiced lines reversed by an open-source release: -5,952,000 KRW each
    lines = (a_line(start="2026-11-30T15:00", end="2026-12-31T15:00", gpus=8, share=Fraction(1, 4),
                    amount=-5_952_000, busy=None),
             a_line(start="2026-12-31T15:00", end="2027-01-31T15:00", gpus=8, share=Fraction(1, 4),
                    amount=-5_952_000, busy=None))
    return replace(an_invoice(*lines), kind=DocumentKind.CREDIT_NOTE, number="CN-2027-000001",
                   reason="open_source_release", credits=("INV-2027-000001", "INV-2027-000002"))


def rows_of(body: bytes) -> list[list[str]]:
    assert body.startswith(codecs.BOM_UTF8)
    text = body[len(codecs.BOM_UTF8):].decode("utf-8")
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")  # RFC 4180 line breaks only
    return list(csv.reader(io.StringIO(text, newline="")))


class Text(HTMLParser):
    """The page's visible text, and every tag it opens."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.tags: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if not self._in_style and data.strip():
            self.text.append(data.strip())


def parsed(page: str) -> Text:
    found = Text()
    found.feed(page)
    return found


# --- CSV ------------------------------------------------------------------------------------------------------------

def test_an_invoice_csv_is_a_header_one_row_per_line_and_a_total_row() -> None:
    # 4 GPUs x 16 days (Dec 1-16 in Korea) x 24 h = 1,536 GPU-hours; 4 GPUs x 15 days = 1,440 GPU-hours
    first = a_line(start="2026-11-30T15:00", end="2026-12-16T15:00", amount=737_280)
    second = a_line(start="2026-12-16T15:00", end="2026-12-31T15:00", rate=5_000, amount=864_000,
                    busy=Decimal("1000.5"))
    rows = rows_of(document_csv(an_invoice(first, second)))
    assert rows[0] == HEADER
    head = ["INV-2027-000001", "invoice", "issued", "2026-12", "해달 AI"]
    assert rows[1] == [*head, str(APPLICATION), str(ALLOCATION), "P1", "ncloud", "H100", "4",
                       "2026-12-01T00:00:00+09:00", "2026-12-17T00:00:00+09:00", "1536.000000", "4000", "30.0000",
                       "737280", "812.25"]
    assert rows[2][11:] == ["2026-12-17T00:00:00+09:00", "2027-01-01T00:00:00+09:00", "1440.000000", "5000",
                            "30.0000", "864000", "1000.5"]
    # total: 1,536 + 1,440 = 2,976 GPU-hours; 737,280 + 864,000 = 1,601,280 KRW; 812.25 + 1,000.5 = 1,812.75 busy
    assert rows[3] == [*head, "TOTAL", "", "", "", "", "", "", "", "2976.000000", "", "", "1601280", "1812.75"]
    assert len(rows) == 4


def test_a_credit_note_csv_keeps_its_negative_amounts_as_numbers() -> None:
    rows = rows_of(document_csv(a_credit_note()))
    amounts = [row[HEADER.index("amount_krw")] for row in rows[1:]]
    assert amounts == ["-5952000", "-5952000", "-11904000"]  # no leading ' : still numbers to a spreadsheet
    assert rows[1][:5] == ["CN-2027-000001", "credit_note", "issued", "2026-12", "해달 AI"]
    assert rows[1][HEADER.index("busy_gpu_hours")] == ""
    assert rows[-1][HEADER.index("busy_gpu_hours")] == ""  # nothing measured: no total either


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_a_text_cell_a_spreadsheet_would_evaluate_is_prefixed_with_a_quote(name: str) -> None:
    payer = Payer(PayerKind.APPLICANT, "org:x", name)
    rows = rows_of(document_csv(an_invoice(a_line(csp=name), payer=payer)))
    payer_cells = {row[HEADER.index("payer")] for row in rows[1:]}
    assert payer_cells == {"'" + name}
    assert rows[1][HEADER.index("csp")] == "'" + name


def test_the_guard_leaves_numbers_and_harmless_text_alone() -> None:
    assert safe_cell(-5_952_000) == -5_952_000
    assert safe_cell(Decimal("-1.5")) == Decimal("-1.5")
    assert safe_cell(None) is None
    assert safe_cell("Acme = AI") == "Acme = AI"
    assert safe_cell("-") == "'-"


def test_a_payer_name_with_commas_quotes_and_line_breaks_reads_back_whole() -> None:
    name = 'Kim, "Lee"\r\n& Park'
    rows = rows_of(document_csv(an_invoice(payer=Payer(PayerKind.APPLICANT, "org:k", name))))
    assert rows[1][HEADER.index("payer")] == name
    assert len(rows) == 3


def test_a_document_file_is_named_by_its_number_and_a_draft_by_its_id() -> None:
    assert document_filename(an_invoice(), "csv") == "INV-2027-000001.csv"
    draft = an_invoice(number=None, status=DocumentStatus.DRAFT)
    assert document_filename(draft, "csv") == f"{DOCUMENT}.csv"
    assert rows_of(document_csv(draft))[1][:3] == [str(DOCUMENT), "invoice", "draft"]


def test_a_settlement_csv_is_one_row_per_csp_and_model_and_a_total_row() -> None:
    settlement = SettlementOut(month=date(2026, 12, 1), rows=[
        SettlementRow(csp="kt", gpu_model="A100", gpu_hours=Decimal("744.000000"), market_value_krw=2_232_000,
                      applicants_krw=669_600, government_krw=1_562_400),
        SettlementRow(csp="=evil", gpu_model="H100", gpu_hours=Decimal("11904.500000"), market_value_krw=35_712_000,
                      applicants_krw=5_892_480, government_krw=29_819_520),
    ], total_market_value_krw=37_944_000, total_applicants_krw=6_562_080, total_government_krw=31_381_920)
    rows = rows_of(settlement_csv(settlement))
    assert rows == [
        ["csp", "gpu_model", "gpu_hours", "market_value_krw", "applicants_krw", "government_krw"],
        ["kt", "A100", "744.000000", "2232000", "669600", "1562400"],
        ["'=evil", "H100", "11904.500000", "35712000", "5892480", "29819520"],
        ["TOTAL", "", "12648.500000", "37944000", "6562080", "31381920"],
    ]
    assert settlement_filename(settlement.month) == "settlement-2026-12.csv"


def test_an_empty_settlement_is_a_header_and_a_zero_total() -> None:
    empty = SettlementOut(month=date(2027, 1, 1), rows=[], total_market_value_krw=0, total_applicants_krw=0,
                          total_government_krw=0)
    assert rows_of(settlement_csv(empty))[1:] == [["TOTAL", "", "0", "0", "0", "0"]]


# --- HTML -----------------------------------------------------------------------------------------------------------

def test_the_page_is_in_korean_by_default_with_amounts_in_won_and_times_in_korea() -> None:
    page = document_html(an_invoice(a_line(amount=1_152_000)))
    text = parsed(page).text
    assert '<html lang="ko">' in page
    assert "청구서" in text and "INV-2027-000001" in text
    for label in ("문서 번호", "상태", "대상 월", "납부자", "파트너", "발행일", "납부일", "기간", "GPU 모델",
                  "GPU 시간", "GPU 시간당 단가", "부담 비율", "금액", "사용 GPU 시간", "합계"):
        assert label in text, label
    assert "2026년 12월" in text and "발행" in text
    assert "1,152,000원" in text and "4,000원" in text and "30%" in text
    assert "2027-01-01" in text  # issued 2026-12-31 16:00 UTC: January 1st in Korea
    assert "2026-12-01 00:00 ~ 2026-12-17 00:00" in text  # the period in Korea time
    assert "1,536" in text and "812.25" in text
    assert "해달 AI (신청 기관)" in text


def test_the_page_in_english_has_english_labels_and_amounts_in_krw() -> None:
    page = document_html(an_invoice(a_line(amount=1_152_000)), "en")
    text = parsed(page).text
    assert '<html lang="en">' in page
    for label in ("Invoice", "Number", "Status", "Month", "Payer", "Partner", "Issued", "Paid", "Period", "CSP",
                  "GPU model", "GPUs", "GPU-hours", "Price per GPU-hour", "Share", "Amount", "Busy GPU-hours",
                  "Total"):
        assert label in text, label
    assert "December 2026" in text
    assert "KRW 1,152,000" in text and "KRW 4,000" in text
    assert not any("원" in t or "청구서" in t for t in text)


def test_a_credit_note_page_names_the_invoices_it_credits_its_reason_and_negative_amounts() -> None:
    ko = parsed(document_html(a_credit_note())).text
    assert "대변표" in ko and "CN-2027-000001" in ko
    assert {"INV-2027-000001", "INV-2027-000002"} <= set(ko)
    assert "대상 청구서" in ko and "오픈소스 공개에 따른 면제" in ko
    assert "-5,952,000원" in ko and "-11,904,000원" in ko
    en = parsed(document_html(a_credit_note(), "en")).text
    assert "Credit note" in en and "Invoices credited" in en
    assert "Waived: results released as open source" in en
    assert "KRW -11,904,000" in en


def test_a_partners_script_in_a_payer_name_is_shown_as_text_never_run() -> None:
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    payer = Payer(PayerKind.APPLICANT, "org:evil", evil)
    page = document_html(an_invoice(a_line(csp="<b>csp</b>"), payer=payer))
    found = parsed(page)
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert f"{evil} (신청 기관)" in found.text  # the name itself, shown as written
    assert "script" not in found.tags and "img" not in found.tags and "link" not in found.tags


def test_the_page_is_self_contained() -> None:
    page = document_html(a_credit_note(), "en")
    tags = set(parsed(page).tags)
    assert tags.isdisjoint({"script", "link", "img", "iframe", "object", "embed", "form"})
    assert "http://" not in page and "https://" not in page and "url(" not in page
    assert "<style>" in page and "@media print" in page


def test_a_draft_page_says_it_has_no_number_yet() -> None:
    draft = an_invoice(number=None, status=DocumentStatus.DRAFT)
    assert "초안 (번호 미부여)" in parsed(document_html(draft)).text
    assert "Draft (not numbered)" in parsed(document_html(draft, "en")).text


def test_numbers_are_grouped_by_thousands_without_trailing_zeros() -> None:
    assert money(5_952_000, "ko") == "5,952,000원"
    assert money(-5_952_000, "en") == "KRW -5,952,000"
    assert decimal(Decimal("11904.000000")) == "11,904"
    assert decimal(Decimal("58.500000")) == "58.5"
    assert decimal(Decimal("7.5000")) == "7.5"
    assert decimal(Decimal("0")) == "0"
