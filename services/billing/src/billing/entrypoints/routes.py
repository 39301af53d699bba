"""The operator API: tariffs, usage accounts and invoices; every route wants an access token.

Any role may read the tariffs. Accounts and invoices are operator-only for now: billing does not know partners yet
(allocation's events name the application, not its partner), so it could not show a partner only its own.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query

from billing.domain.commands import SetTariff
from billing.domain.errors import AccountNotFound, InvoiceNotFound
from billing.domain.model import Tariff
from billing.entrypoints.deps import Bus, Uow
from billing.entrypoints.schemas import AccountOut, GpuModel, InvoiceOut, TariffIn, TariffOut
from servicekit.auth import AUTH_RESPONSES, OPERATOR_ONLY, authenticated
from servicekit.http import PROBLEM_RESPONSES

RESPONSES = {**PROBLEM_RESPONSES, **AUTH_RESPONSES}
tariffs = APIRouter(prefix="/tariffs", tags=["tariffs"], responses=RESPONSES, dependencies=[Depends(authenticated)])
accounts = APIRouter(prefix="/accounts", tags=["accounts"], responses=RESPONSES, dependencies=[OPERATOR_ONLY])
invoices = APIRouter(prefix="/invoices", tags=["invoices"], responses=RESPONSES, dependencies=[OPERATOR_ONLY])


@tariffs.put("/{gpu_model}", response_model=TariffOut, dependencies=[OPERATOR_ONLY],
             summary="Set a GPU model's price per GPU-hour")
async def put_tariff(gpu_model: Annotated[GpuModel, Path()], body: TariffIn, bus: Bus) -> TariffOut:
    tariff: Tariff = await bus.handle(SetTariff(gpu_model=gpu_model, krw_per_gpu_hour=body.krw_per_gpu_hour))
    return TariffOut.model_validate(asdict(tariff))


@tariffs.get("", response_model=list[TariffOut], summary="Every tariff; other models use the default price")
async def list_tariffs(uow: Uow) -> list[TariffOut]:
    return [TariffOut.model_validate(asdict(t)) for t in await uow.tariffs.every()]


@accounts.get("/{allocation_id}", response_model=AccountOut, summary="An allocation's usage account")
async def get_account(allocation_id: UUID, uow: Uow) -> AccountOut:
    account = await uow.accounts.get(allocation_id)
    if account is None:
        raise AccountNotFound(f"no account for allocation {allocation_id}")
    measured = await uow.usage.measured_gpu_hours(allocation_id)
    return AccountOut.model_validate({**asdict(account), "measured_gpu_hours": measured})


@invoices.get("", response_model=list[InvoiceOut], summary="Invoices, newest first")
async def list_invoices(uow: Uow, application_id: UUID | None = None,
                        limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[InvoiceOut]:
    found = await uow.invoices.find(application_id=application_id, limit=limit)
    return [InvoiceOut.model_validate(asdict(i)) for i in found]


@invoices.get("/{invoice_id}", response_model=InvoiceOut, summary="One invoice")
async def get_invoice(invoice_id: UUID, uow: Uow) -> InvoiceOut:
    found = await uow.invoices.get(invoice_id)
    if found is None:
        raise InvoiceNotFound(f"no invoice {invoice_id}")
    return InvoiceOut.model_validate(asdict(found))
