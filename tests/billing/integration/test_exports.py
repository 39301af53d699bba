"""Invoices, credit notes and the CSP settlement exported as CSV and HTML by the real app on the real database: the
same figures as the JSON routes, the same access (operators, and the partner that owns a document), and nothing a
partner wrote run in a spreadsheet or a browser.

Documents are built the way test_ledger.py builds them: each event through billing's own translation and bus, then
an operator's invoicing round. Times are in Korea (KST = UTC+9)."""
from __future__ import annotations

import codecs
import csv
import io
import uuid
from datetime import timedelta

import httpx

from billing.config import InvoicingSettings
from contracts import CorporateParticipant
from support.auth import OPERATOR, bearer
from support.billing import DEC_1, FEB_1, JAN_1, MAR_1, allocated, consume, run_round, submitted
from support.clock import ManualClock
from support.stack import Stack

PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'"


def rows_of(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(response.content[len(codecs.BOM_UTF8):].decode("utf-8"), newline="")))


def as_dicts(rows: list[list[str]]) -> list[dict[str, str]]:
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def refusal(response: httpx.Response) -> tuple[int, str]:
    assert response.headers["content-type"] == "application/problem+json", response.text
    return response.status_code, response.json()["title"]


async def test_an_invoice_csv_carries_the_json_figures_for_the_operator_and_the_owning_partner(stack: Stack) -> None:
    mine, theirs = submitted("P1"), submitted("P1")
    # 4 GPUs x 10 days x 24 h = 960 GPU-hours x 4,000 KRW = 3,840,000 KRW; the applicant's 30% = 1,152,000 KRW
    await consume(stack, mine, theirs, *[allocated(a, gpus=4, start=DEC_1, end=DEC_1 + timedelta(days=10))
                                         for a in (mine, theirs)])
    clock = ManualClock(DEC_1)
    async with stack.api("billing", clock=clock) as api:
        issued = {d["partner_id"]: d for d in await run_round(api, clock, JAN_1 + timedelta(hours=1))}
        doc = issued[str(mine.partner_id)]
        path = f"/invoices/{doc['id']}/csv"
        as_operator = await api.get(path, headers=OPERATOR)
        as_owner = await api.get(path, headers=bearer("partner", mine.partner_id))
        as_other = await api.get(path, headers=bearer("partner", theirs.partner_id))
        as_reviewer = await api.get(path, headers=bearer("reviewer"))
        as_csp = await api.get(path, headers=bearer("csp"))
        missing = await api.get(f"/invoices/{uuid.uuid4()}/csv", headers=OPERATOR)
    assert as_operator.content == as_owner.content
    assert as_operator.headers["content-disposition"] == f'attachment; filename="{doc["number"]}.csv"'
    lines, total = as_dicts(rows_of(as_operator))[:-1], as_dicts(rows_of(as_operator))[-1]
    json_line = doc["lines"][0]
    assert [(r["document_number"], r["kind"], r["status"], r["month"], r["payer"]) for r in lines] == [
        (doc["number"], "invoice", "issued", "2026-12", "Haedal AI")]
    assert {k: lines[0][k] for k in ("application_id", "allocation_id", "csp", "gpu_model", "gpus", "gpu_hours",
                                     "krw_per_gpu_hour", "share_pct", "amount_krw")} == \
        {k: str(json_line[k]) for k in ("application_id", "allocation_id", "csp", "gpu_model", "gpus", "gpu_hours",
                                        "krw_per_gpu_hour", "share_pct", "amount_krw")}
    assert (lines[0]["period_start"], lines[0]["period_end"]) == ("2026-12-01T00:00:00+09:00",
                                                                  "2026-12-11T00:00:00+09:00")
    assert (total["application_id"], total["gpu_hours"], total["amount_krw"]) == ("TOTAL", "960.000000", "1152000")
    assert int(total["amount_krw"]) == doc["total_krw"] == 1_152_000
    assert refusal(as_other) == refusal(missing) == (404, "DocumentNotFound")  # as if it did not exist
    assert refusal(as_reviewer) == (403, "Forbidden")
    assert refusal(as_csp) == (403, "Forbidden")


async def test_an_invoice_page_in_korean_or_english_for_the_operator_and_the_owning_partner(stack: Stack) -> None:
    mine, theirs = submitted("P1"), submitted("P1")
    await consume(stack, mine, theirs, *[allocated(a, gpus=4, start=DEC_1, end=DEC_1 + timedelta(days=10))
                                         for a in (mine, theirs)])
    clock = ManualClock(DEC_1)
    async with stack.api("billing", clock=clock) as api:
        issued = {d["partner_id"]: d for d in await run_round(api, clock, JAN_1 + timedelta(hours=1))}
        doc = issued[str(mine.partner_id)]
        path = f"/invoices/{doc['id']}/html"
        korean = await api.get(path, headers=OPERATOR)
        english = await api.get(path, params={"lang": "en"}, headers=bearer("partner", mine.partner_id))
        as_other = await api.get(path, headers=bearer("partner", theirs.partner_id))
        as_reviewer = await api.get(path, params={"lang": "en"}, headers=bearer("reviewer"))
        bad_lang = await api.get(path, params={"lang": "fr"}, headers=OPERATOR)
    for page in (korean, english):
        assert page.status_code == 200, page.text
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.headers["content-security-policy"] == PAGE_CSP
        assert page.headers["x-content-type-options"] == "nosniff"
        assert doc["number"] in page.text and "Haedal AI" in page.text
        assert "<script" not in page.text
    assert '<html lang="ko">' in korean.text and "청구서" in korean.text and "1,152,000원" in korean.text
    assert "2026년 12월" in korean.text
    assert '<html lang="en">' in english.text and "Invoice" in english.text and "KRW 1,152,000" in english.text
    assert "December 2026" in english.text and "원" not in english.text
    assert refusal(as_other) == (404, "DocumentNotFound")
    assert refusal(as_reviewer) == (403, "Forbidden")
    assert bad_lang.status_code == 422
    assert [e["field"] for e in bad_lang.json()["errors"]] == ["query.lang"]


async def test_a_credit_note_exports_negative_amounts_and_defuses_what_the_partner_wrote(stack: Stack) -> None:
    formula, script = '=HYPERLINK("http://evil.example","pay here")', "<script>alert('x')</script> Corp"
    project = submitted("P2", participants=[
        CorporateParticipant(name=formula, size="large", business_registration_number="1111111119",
                             project_share_bp=5000),
        CorporateParticipant(name=script, size="large", business_registration_number="2222222227",
                             project_share_bp=5000)])
    await consume(stack, project, allocated(project, gpus=8, start=DEC_1, end=MAR_1, csps=("-csp",)))
    clock = ManualClock(DEC_1)
    async with stack.api("billing", clock=clock) as api:
        # December: 8 GPUs x 31 days x 24 h x 4,000 KRW = 23,808,000 KRW; 25% x 50% = 2,976,000 KRW each
        december = await run_round(api, clock, JAN_1 + timedelta(hours=1))
        clock.set(FEB_1 - timedelta(days=10))
        release = await api.post(f"/applications/{project.application_id}/open-source-release", headers=OPERATOR,
                                 json={"url": "https://github.com/kaist/model", "released_on": "2027-01-22"})
        assert release.status_code == 201, release.text
        credits = await run_round(api, clock, FEB_1 - timedelta(days=10) + timedelta(hours=1))
        by_payer = {d["payer_name"]: d for d in credits}
        csv_formula = await api.get(f"/invoices/{by_payer[formula]['id']}/csv", headers=OPERATOR)
        page_script = await api.get(f"/invoices/{by_payer[script]['id']}/html", headers=OPERATOR)
        page_english = await api.get(f"/invoices/{by_payer[script]['id']}/html", params={"lang": "en"},
                                     headers=OPERATOR)
    assert sorted(d["total_krw"] for d in december) == [2_976_000, 2_976_000]
    assert {(d["kind"], d["total_krw"], d["reason"]) for d in credits} == {
        ("credit_note", 2_976_000, "open_source_release")}
    credit = by_payer[formula]
    assert csv_formula.headers["content-disposition"] == f'attachment; filename="{credit["number"]}.csv"'
    rows = as_dicts(rows_of(csv_formula))
    assert {r["payer"] for r in rows} == {"'" + formula}  # shown as text, never evaluated
    assert {r["csp"] for r in rows[:-1]} == {"'-csp"}
    # the line, then the total (the sum of the lines, negative like them; the JSON gives what is credited back)
    assert [r["amount_krw"] for r in rows] == ["-2976000", "-2976000"]
    assert credit["total_krw"] == 2_976_000
    assert page_script.status_code == 200, page_script.text
    assert "<script>" not in page_script.text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; Corp" in page_script.text
    assert "대변표" in page_script.text and "-2,976,000원" in page_script.text
    assert "오픈소스 공개에 따른 면제" in page_script.text
    invoiced = {d["payer_name"]: d["number"] for d in december}
    assert invoiced[script] in by_payer[script]["credits"]
    assert f"<li>{invoiced[script]}</li>" in page_script.text
    assert "Credit note" in page_english.text and "KRW -2,976,000" in page_english.text


async def test_a_draft_exports_under_its_id(stack: Stack) -> None:
    application = submitted("P1")
    await consume(stack, application, allocated(application, gpus=1, start=DEC_1, end=JAN_1))
    clock = ManualClock(DEC_1)
    async with stack.api("billing", clock=clock, invoicing=InvoicingSettings(review_days=3)) as api:
        assert await run_round(api, clock, JAN_1 + timedelta(hours=1)) == []  # drafted, waiting for review
        drafts = (await api.get("/invoices", params={"status": "draft"}, headers=OPERATOR)).json()
        exported = await api.get(f"/invoices/{drafts[0]['id']}/csv", headers=OPERATOR)
        page = await api.get(f"/invoices/{drafts[0]['id']}/html", headers=OPERATOR)
    assert exported.headers["content-disposition"] == f'attachment; filename="{drafts[0]["id"]}.csv"'
    assert [r["status"] for r in as_dicts(rows_of(exported))] == ["draft", "draft"]
    assert "초안 (번호 미부여)" in page.text


async def test_the_settlement_csv_totals_equal_the_json_settlement(stack: Stack) -> None:
    one, two = submitted("P1"), submitted("P2", participants=[CorporateParticipant(name="Mid Co", size="mid")])
    await consume(stack, one, two, allocated(one, gpus=3, start=DEC_1, end=JAN_1, csps=("csp-a", "csp-b")),
                  allocated(two, gpus=8, start=DEC_1 + timedelta(days=3, minutes=7), end=JAN_1))
    async with stack.api("billing") as api:
        price = await api.put("/market-prices/csp-b/H100/2026-12-16", json={"krw_per_gpu_hour": 5000},
                              headers=OPERATOR)
        assert price.status_code == 200, price.text
        settlement = (await api.get("/settlements/2026-12", headers=OPERATOR)).json()
        exported = await api.get("/settlements/2026-12/csv", headers=OPERATOR)
        as_partner = await api.get("/settlements/2026-12/csv", headers=bearer("partner", one.partner_id))
        as_reviewer = await api.get("/settlements/2026-12/csv", headers=bearer("reviewer"))
        bad_month = await api.get("/settlements/2026-13/csv", headers=OPERATOR)
        empty = await api.get("/settlements/2027-06/csv", headers=OPERATOR)
    assert exported.headers["content-disposition"] == 'attachment; filename="settlement-2026-12.csv"'
    rows = as_dicts(rows_of(exported))
    assert len(settlement["rows"]) == 2  # csp-a and csp-b, both H100
    assert rows[:-1] == [{k: str(v) for k, v in row.items()} for row in settlement["rows"]]
    total = rows[-1]
    assert (total["csp"], total["gpu_model"]) == ("TOTAL", "")
    assert int(total["market_value_krw"]) == settlement["total_market_value_krw"]
    assert int(total["applicants_krw"]) == settlement["total_applicants_krw"]
    assert int(total["government_krw"]) == settlement["total_government_krw"]
    assert int(total["market_value_krw"]) == int(total["applicants_krw"]) + int(total["government_krw"])
    assert refusal(as_partner) == (403, "Forbidden")
    assert refusal(as_reviewer) == (403, "Forbidden")
    assert bad_month.status_code == 422
    assert as_dicts(rows_of(empty)) == [{"csp": "TOTAL", "gpu_model": "", "gpu_hours": "0", "market_value_krw": "0",
                                         "applicants_krw": "0", "government_krw": "0"}]
