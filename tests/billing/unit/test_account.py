"""An allocation's usage account: priced at allocation time, invoiced once, for the period actually held."""
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from billing.domain.errors import AccountAlreadyInvoiced, InvalidTariff
from billing.domain.model import Account, AccountStatus, BillingPolicy, PayerShares, Tariff

START = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
SHARES = PayerShares(p1_user_share=Decimal("0.30"), p2_user_share=Decimal("0.0"), p3_user_share=Decimal("0.1"))


def an_account(**overrides: Any) -> Account:
    account = Account(allocation_id=uuid4(), application_id=uuid4(), program="P1", gpu_model="H100", gpus=4,
                      starts_at=START, ends_at=START + timedelta(days=30), krw_per_gpu_hour=4000, opened_at=START)
    return replace(account, **overrides)


def test_an_account_runs_to_its_end_when_nothing_is_reclaimed() -> None:
    account = an_account()
    invoice = account.invoice(uuid4(), SHARES, START + timedelta(days=31))
    assert invoice.period_end == account.ends_at
    assert invoice.gpu_hours == Decimal(4 * 30 * 24)
    assert invoice.market_value_krw == 4 * 30 * 24 * 4000
    assert invoice.payable_krw == 4 * 30 * 24 * 1200
    assert account.status is AccountStatus.INVOICED


def test_a_reclaim_stops_the_billing_at_the_reclaim_time() -> None:
    account = an_account(program="P3")
    account.close(START + timedelta(hours=10))
    invoice = account.invoice(uuid4(), SHARES, START + timedelta(hours=11))
    assert invoice.period_end == START + timedelta(hours=10)
    assert invoice.gpu_hours == Decimal(40)
    assert (invoice.market_value_krw, invoice.payable_krw) == (160_000, 16_000)


def test_a_reclaim_after_the_period_bills_no_more_than_the_period() -> None:
    account = an_account(ends_at=START + timedelta(hours=2))
    account.close(START + timedelta(hours=50))
    assert account.invoice(uuid4(), SHARES, START + timedelta(hours=51)).gpu_hours == Decimal(8)


def test_a_reclaim_before_the_start_bills_nothing() -> None:
    account = an_account()
    account.close(START - timedelta(hours=1))
    invoice = account.invoice(uuid4(), SHARES, START)
    assert invoice.period_end == invoice.period_start
    assert (invoice.gpu_hours, invoice.market_value_krw, invoice.payable_krw) == (Decimal(0), 0, 0)


def test_an_account_is_invoiced_only_once() -> None:
    account = an_account()
    account.invoice(uuid4(), SHARES, START)
    with pytest.raises(AccountAlreadyInvoiced):
        account.invoice(uuid4(), SHARES, START)
    with pytest.raises(AccountAlreadyInvoiced):
        account.close(START)


def test_an_account_is_due_once_its_period_has_ended_and_not_after_it_is_invoiced() -> None:
    account = an_account(ends_at=START + timedelta(hours=1))
    assert not account.is_due(START + timedelta(minutes=59))
    assert account.is_due(START + timedelta(hours=1))
    account.invoice(uuid4(), SHARES, START + timedelta(hours=1))
    assert not account.is_due(START + timedelta(hours=2))


def test_a_gpu_model_without_a_tariff_is_priced_at_the_default() -> None:
    policy = BillingPolicy(default_krw_per_gpu_hour=4000, shares=SHARES)
    assert policy.krw_per_gpu_hour(None) == 4000
    assert policy.krw_per_gpu_hour(Tariff("H200", 5500, START)) == 5500


@pytest.mark.parametrize("rate", [0, -1, 2.5, True])
def test_a_tariff_must_be_a_positive_whole_number_of_won(rate: object) -> None:
    with pytest.raises(InvalidTariff) as error:
        Tariff("H100", rate, START)  # type: ignore[arg-type]  # the point: rates of every wrong kind
    assert error.value.field == "krw_per_gpu_hour"
