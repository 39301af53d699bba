"""Applications in and out of the database: the common parts in columns, the program-specific parts in `details`;
each with its latest offer of freed capacity."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import TypeAdapter
from sqlalchemy import ColumnElement, Insert, Select, Text, Update, bindparam, func, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY, distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from intake.adapters.orm import application, application_status, offer
from intake.adapters.webhook_outbox import pending_deliveries
from intake.domain.forms import Form
from intake.domain.model import Application, Status
from intake.domain.offers import Offer, OfferState
from intake.domain.types import ProgramCode
from intake.domain.webhooks import STATUS_CHANGED

APPLICANT_PREFIX = "applicant_"
COLUMNS = ("program", "call_id", "gpu_model", "period_start", "period_end", "planned_gpu_hours_per_month",
           "purpose")
DETAILS = ("company", "researcher", "servers_requested", "corporate_participants", "open_source",
           "training_data_scale", "earliest_start", "acceptable_window_months")
FIXED = ("id", "partner_id", "created_at")  # what an application keeps from its first save on
FORM = TypeAdapter(Form)
Cursor = tuple[datetime, UUID]


def _row(app: Application) -> dict[str, Any]:
    form = FORM.dump_python(app.form, mode="json")
    return {
        "id": app.id, "partner_id": app.partner_id,
        **{k: getattr(app.form, k) for k in COLUMNS},
        **{APPLICANT_PREFIX + k: v for k, v in form["applicant"].items()},
        "gpus_requested": app.gpus_requested, "details": {k: form[k] for k in DETAILS},
        "status": app.status.value, "status_reason": app.status_reason, "created_at": app.created_at,
        "submitted_at": app.submitted_at, "updated_at": app.updated_at,
    }


def _history_rows(*, after: ColumnElement[Any] | None = None) -> Insert:
    """The status changes of one application (`:application_id`) made at `:occurred_at`, from the arrays `:statuses`
    and `:reasons`, into its history: numbered from 0, or on from `after` (the number it has)."""
    changes = (func.unnest(bindparam("statuses", type_=ARRAY(Text)), bindparam("reasons", type_=ARRAY(Text)))
               .table_valued("status", "reason", with_ordinality="n").render_derived())
    seq = changes.c.n - 1 if after is None else after + changes.c.n - 1
    return application_status.insert().from_select(
        ["application_id", "seq", "status", "reason", "at"],
        select(bindparam("application_id", type_=application.c.id.type), seq, changes.c.status, changes.c.reason,
               bindparam("occurred_at", type_=application_status.c.at.type)))


def _storing(row: Insert | Update, *, after: ColumnElement[Any] | None = None) -> Insert:
    """One statement, one round trip, that stores an application: its row (`row`), its status changes into its
    history, and each change as a pending delivery to each active webhook of its partner (webhook_outbox.py), so
    that a change is never notified without being made, nor made without being notified. The row and the history
    are data-modifying CTEs of the deliveries' INSERT. Built once, so that SQLAlchemy compiles it once per process."""
    return pending_deliveries().add_cte(row.cte("stored"), _history_rows(after=after).cte("recorded"))


# the parameters are the application's row (`_row`; a saved one's without FIXED: the UPDATE would set any column
# it is given) and those of its changes (`_changes`)
_ADD = _storing(application.insert().values({c.name: bindparam(c.name, type_=c.type) for c in application.c}))
# a saved application's changes are numbered on after those it has
_SAVE = _storing(application.update()
                 .where(application.c.id == bindparam("application_id", type_=application.c.id.type))
                 .values({c.name: bindparam(c.name, type_=c.type) for c in application.c if c.name not in FIXED}),
                 after=select(func.count()).where(application_status.c.application_id == bindparam("application_id"))
                 .scalar_subquery())


def _changes(app: Application, now: datetime) -> dict[str, Any]:
    """The parameters of the application's status changes in `_ADD` and `_SAVE`: into its history, and due to its
    partner's webhooks from `now`."""
    return {"application_id": app.id, "partner": app.partner_id, "statuses": [s.value for s, _ in app.history],
            "reasons": [r for _, r in app.history], "occurred_at": app.updated_at or app.created_at,
            "event": STATUS_CHANGED, "payload": None, "now": now}


def _application(row: Any) -> Application:
    data = dict(row._mapping)
    details = data["details"]
    form = FORM.validate_python({
        **{k: data[k] for k in COLUMNS}, **details,
        "applicant": {k.removeprefix(APPLICANT_PREFIX): v for k, v in data.items() if k.startswith(APPLICANT_PREFIX)},
        # a request in servers was stored with the GPUs it comes to
        "gpus_requested": None if details.get("servers_requested") else data["gpus_requested"],
    })
    return Application(id=data["id"], partner_id=data["partner_id"], form=form,
                       gpus_requested=data["gpus_requested"], created_at=data["created_at"],
                       submitted_at=data["submitted_at"], status=Status(data["status"]),
                       status_reason=data["status_reason"], updated_at=data["updated_at"])


def _offer(row: Any) -> Offer:
    data = {k: v for k, v in row._mapping.items() if k != "application_id"}
    return Offer(**{**data, "state": OfferState(data["state"])})


def _offer_row(app: Application, made: Offer) -> dict[str, Any]:
    return {**vars(made), "application_id": app.id, "state": made.state.value}


def keyset_page(stmt: Select[Any], at: ColumnElement[Any], id_: ColumnElement[Any], after: Cursor | None,
                limit: int) -> Select[Any]:
    """Newest first by (`at`, `id_`), starting after the cursor: stable while rows are added."""
    if after is not None:
        stmt = stmt.where(tuple_(at, id_) < tuple_(*after))
    return stmt.order_by(at.desc(), id_.desc()).limit(limit)


class ApplicationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, app: Application, now: datetime) -> None:
        await self._session.execute(_ADD, {**_row(app), **_changes(app, now)})
        app.history.clear()

    async def get(self, application_id: UUID, *, for_update: bool = False) -> Application | None:
        stmt = select(application).where(application.c.id == application_id)
        row = (await self._session.execute(stmt.with_for_update() if for_update else stmt)).first()
        if row is None:
            return None
        app = _application(row)
        app.offer = (await self._latest_offers([app.id])).get(app.id)
        return app

    async def save(self, app: Application, now: datetime) -> None:
        """The form too: a draft's may have been replaced."""
        row = {k: v for k, v in _row(app).items() if k not in FIXED}
        await self._session.execute(_SAVE, {**row, **_changes(app, now)})
        app.history.clear()
        if app.offer is not None:
            made = _offer_row(app, app.offer)
            await self._session.execute(insert(offer).values(made).on_conflict_do_update(
                index_elements=[offer.c.id], set_={k: made[k] for k in ("state", "answered_at", "decline_reason")}))

    async def page(self, *, partner_id: UUID | None = None, program: ProgramCode | None = None,
                   call_id: UUID | None = None, status: str | None = None, region: str | None = None,
                   institution: str | None = None, after: Cursor | None = None, limit: int = 50) -> list[Application]:
        """Applications newest first: one partner's, or every partner's when `partner_id` is None; each filter given
        narrows them. `institution` is the applicant's institution, matched whole but regardless of case."""
        stmt = select(application)
        for column, value in (("partner_id", partner_id), ("program", program), ("call_id", call_id),
                              ("status", status), ("applicant_region", region)):
            if value is not None:
                stmt = stmt.where(application.c[column] == value)
        if institution is not None:  # lower() on both sides, as the index ix_application_institution_created
            stmt = stmt.where(func.lower(application.c.applicant_institution) == func.lower(institution))
        stmt = keyset_page(stmt, application.c.created_at, application.c.id, after, limit)
        apps = [_application(r) for r in (await self._session.execute(stmt)).all()]
        offers = await self._latest_offers([a.id for a in apps])
        for app in apps:
            app.offer = offers.get(app.id)
        return apps

    async def submitted_to(self, call_id: UUID) -> list[UUID]:
        """Every application submitted to the call and not withdrawn, oldest first."""
        stmt = (select(application.c.id)
                .where(application.c.call_id == call_id,
                       application.c.status.not_in([Status.DRAFT.value, Status.WITHDRAWN.value]))
                .order_by(application.c.submitted_at, application.c.id))
        return list((await self._session.scalars(stmt)).all())

    async def history(self, application_id: UUID) -> list[dict[str, Any]]:
        stmt = (select(application_status.c.status, application_status.c.reason, application_status.c.at)
                .where(application_status.c.application_id == application_id)
                .order_by(application_status.c.seq))
        return [dict(r._mapping) for r in (await self._session.execute(stmt)).all()]

    async def _latest_offers(self, application_ids: list[UUID]) -> dict[UUID, Offer]:
        """Each application's latest offer; applications without one are not in the map."""
        if not application_ids:
            return {}
        stmt = (select(offer).ext(distinct_on(offer.c.application_id))
                .where(offer.c.application_id.in_(application_ids))
                .order_by(offer.c.application_id, offer.c.made_at.desc(), offer.c.id.desc()))
        return {r.application_id: _offer(r) for r in (await self._session.execute(stmt)).all()}
