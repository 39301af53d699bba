"""Applications in and out of the database: the common parts in columns, the program-specific parts in `details`;
each with its latest offer of freed capacity."""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import TypeAdapter
from sqlalchemy import (
    ColumnElement,
    Executable,
    Insert,
    Select,
    Text,
    Update,
    any_,
    bindparam,
    func,
    literal_column,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY, distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from intake.adapters.orm import application, application_status, messaging, offer
from intake.adapters.webhook_outbox import pending_deliveries
from intake.domain.forms import Form
from intake.domain.model import Application, Status
from intake.domain.offers import Offer, OfferState
from intake.domain.types import ProgramCode
from intake.domain.webhooks import STATUS_CHANGED
from servicekit.outbox import carried

APPLICANT_PREFIX = "applicant_"
COLUMNS = ("program", "call_id", "gpu_model", "period_start", "period_end", "planned_gpu_hours_per_month",
           "purpose")
DETAILS = ("company", "researcher", "servers_requested", "corporate_participants", "open_source",
           "training_data_scale", "earliest_start", "acceptable_window_months")
FIXED = ("id", "partner_id", "created_at")  # what an application keeps from its first save on
STATUS = ("status", "status_reason", "submitted_at", "updated_at")  # what a status change sets
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


def _status_row(app: Application) -> dict[str, Any]:
    """What of `_row` a status change sets (STATUS)."""
    return {"status": app.status.value, "status_reason": app.status_reason, "submitted_at": app.submitted_at,
            "updated_at": app.updated_at}


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


# the parameters are the application's row (`_row`; a saved one's only the columns its UPDATE sets: it would set any
# column it is given) and those of its changes (`_changes`)
# a new application's is a unit of work's last write, carrying its events (`SqlUnitOfWork.write_last`)
_ADD = (_storing(application.insert().values({c.name: bindparam(c.name, type_=c.type) for c in application.c}))
        .add_cte(carried(messaging.outbox)))


def _updating(columns: list[str]) -> Insert:
    """`_storing` a saved application: its `columns` set, its changes numbered on after those it has."""
    return _storing(application.update()
                    .where(application.c.id == bindparam("application_id", type_=application.c.id.type))
                    .values({k: bindparam(k, type_=application.c[k].type) for k in columns}),
                    after=select(func.count())
                    .where(application_status.c.application_id == bindparam("application_id")).scalar_subquery())


_SAVE = _updating([c.name for c in application.c if c.name not in FIXED])
# an application whose form is still the one read: only what its status changes
_SAVE_STATUS = _updating(list(STATUS))

APPLICATION_KEYS = tuple(c.name for c in application.c)
OFFER_KEYS = tuple(c.name for c in offer.c if c.name != "application_id")
# an application with its latest offer, in one round trip: its row's columns, then the offer's (OFFER_KEYS, all
# NULL when it has none), then whether the row is as the statement's snapshot saw it. Read FOR UPDATE, only the
# application's row is locked; if the lock waited for a transaction that changed the row, the row comes as that
# transaction left it, but the offer as the snapshot saw it, from before that transaction's own changes to it (a
# transaction that changes an offer saves its application too): then `as_seen` is false
_LATEST_OFFER = (select(*(offer.c[k] for k in OFFER_KEYS)).where(offer.c.application_id == application.c.id)
                 .order_by(offer.c.made_at.desc(), offer.c.id.desc()).limit(1).lateral("latest_offer"))
_SEEN = application.alias("seen")
_AS_SEEN = (select(literal_column("seen.xmin")).where(_SEEN.c.id == application.c.id).scalar_subquery()
            == literal_column("application.xmin")).label("as_seen")
_READ = select(application, *_LATEST_OFFER.c, _AS_SEEN).select_from(application.outerjoin(_LATEST_OFFER, true()))
_GET = _READ.where(application.c.id == bindparam("application_id", type_=application.c.id.type))
_GET_FOR_UPDATE = _GET.with_for_update(of=application)
# several (`:ids`, an array: one statement whatever their number), locked in the order of their ids
_LOCK = (_READ.where(application.c.id == any_(bindparam("ids", type_=ARRAY(application.c.id.type))))
         .order_by(application.c.id).with_for_update(of=application))
# each application's latest offer, for a page of applications (`:ids`)
_LATEST_OFFERS = (select(offer.c.application_id, *(offer.c[k] for k in OFFER_KEYS))
                  .ext(distinct_on(offer.c.application_id))
                  .where(offer.c.application_id.in_(bindparam("ids", expanding=True, type_=offer.c.id.type)))
                  .order_by(offer.c.application_id, offer.c.made_at.desc(), offer.c.id.desc()))
_UPSERT_OFFER = insert(offer).values({c.name: bindparam(c.name, type_=c.type) for c in offer.c})
_UPSERT_OFFER = _UPSERT_OFFER.on_conflict_do_update(
    index_elements=[offer.c.id],
    set_={k: _UPSERT_OFFER.excluded[k] for k in ("state", "answered_at", "decline_reason")})


def _changes(app: Application, now: datetime) -> dict[str, Any]:
    """The parameters of the application's status changes in `_ADD` and `_SAVE`: into its history, and due to its
    partner's webhooks from `now`."""
    return {"application_id": app.id, "partner": app.partner_id, "statuses": [s.value for s, _ in app.history],
            "reasons": [r for _, r in app.history], "occurred_at": app.updated_at or app.created_at,
            "event": STATUS_CHANGED, "payload": None, "now": now}


def _application(row: Any) -> Application:
    """The application of a row whose first columns are the table's, in its order (a row of `_GET` has its latest
    offer's after them)."""
    data = dict(zip(APPLICATION_KEYS, row, strict=False))
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


def _offer(values: Any) -> Offer | None:
    """The offer of the values of OFFER_KEYS, in that order; None if there is none (a `_GET` row without one)."""
    data = dict(zip(OFFER_KEYS, values, strict=True))
    if data["id"] is None:
        return None
    return Offer(**{**data, "state": OfferState(data["state"])})


def _offer_row(app: Application, made: Offer) -> dict[str, Any]:
    return {**vars(made), "application_id": app.id, "state": made.state.value}


def keyset_page(stmt: Select[Any], at: ColumnElement[Any], id_: ColumnElement[Any], after: Cursor | None,
                limit: int) -> Select[Any]:
    """Newest first by (`at`, `id_`), starting after the cursor: stable while rows are added."""
    if after is not None:
        stmt = stmt.where(tuple_(at, id_) < tuple_(*after))
    return stmt.order_by(at.desc(), id_.desc()).limit(limit)


@dataclass(frozen=True, slots=True)
class _Read:
    """An application as `get` read it: its saving writes only what changed since."""

    app: Application
    form: Form
    gpus_requested: int
    offer: dict[str, Any] | None  # the latest offer's fields

    @classmethod
    def of(cls, app: Application) -> _Read:
        return cls(app, app.form, app.gpus_requested, None if app.offer is None else dict(vars(app.offer)))

    def form_kept(self, app: Application) -> bool:
        return self.app is app and self.form is app.form and self.gpus_requested == app.gpus_requested

    def offer_kept(self, app: Application) -> bool:
        return self.app is app and app.offer is not None and self.offer == vars(app.offer)


class ApplicationRepository:
    """`write_last` is the unit of work's (`SqlUnitOfWork.write_last`): `add` is the unit's last write, run at its
    commit with the unit's events — alone, when nothing ran before it (a P3 submission: one round trip for the
    application, its history, its webhook deliveries and its event)."""

    def __init__(self, session: AsyncConnection,
                 write_last: Callable[[Executable, dict[str, Any]], Awaitable[None]]) -> None:
        self._session = session
        self._write_last = write_last
        self._read: dict[UUID, _Read] = {}  # the applications read in this unit of work
        self._locked: dict[UUID, Application] = {}  # read for update by `lock`, not yet handed out by `get`

    async def add(self, app: Application, now: datetime) -> None:
        """Store a new application, as the unit of work's last step but for its events."""
        await self._write_last(_ADD, {**_row(app), **_changes(app, now)})
        app.history.clear()

    async def lock(self, application_ids: Collection[UUID]) -> None:
        """Read the applications for update in one statement, their locks taken in the order of their ids: the
        next `get(id, for_update=True)` of each is answered from what was read, without a round trip (one only:
        after it, a `get` reads the row again). An id with no application is left to `get`."""
        ids = sorted(set(application_ids))
        if not ids:
            return
        rows = (await self._session.execute(_LOCK, {"ids": ids})).all()
        apps = self._loaded(rows)
        for app in await self._with_offers(apps):
            self._locked[app.id] = app

    async def get(self, application_id: UUID, *, for_update: bool = False) -> Application | None:
        if for_update and (locked := self._locked.pop(application_id, None)) is not None:
            self._read[application_id] = _Read.of(locked)  # as read by `lock`, whatever was read since
            return locked
        stmt = _GET_FOR_UPDATE if for_update else _GET
        row = (await self._session.execute(stmt, {"application_id": application_id})).first()
        if row is None:
            return None
        return (await self._with_offers(self._loaded([row])))[0]

    def _loaded(self, rows: Sequence[Any]) -> list[tuple[Application, bool]]:
        """Each row of `_READ` as an application with its latest offer, and whether that offer is as the
        statement's snapshot saw the row (`as_seen`)."""
        loaded = []
        for row in rows:
            app = _application(row)
            if row.as_seen:
                app.offer = _offer(row[len(APPLICATION_KEYS):-1])
            loaded.append((app, bool(row.as_seen)))
        return loaded

    async def _with_offers(self, loaded: list[tuple[Application, bool]]) -> list[Application]:
        """The applications, each noted as read; those whose lock waited for a transaction that changed the row
        have their latest offer read again, after the lock: that transaction may have changed it too."""
        again = [app.id for app, as_seen in loaded if not as_seen]
        offers = await self._latest_offers(again) if again else {}
        for app, as_seen in loaded:
            if not as_seen:
                app.offer = offers.get(app.id)
            self._read[app.id] = _Read.of(app)
        return [app for app, _ in loaded]

    async def save(self, app: Application, now: datetime) -> None:
        """The form too, unless it is still the one read (a draft's may have been replaced); the latest offer too,
        unless it is still as read."""
        self._locked.pop(app.id, None)
        read = self._read.get(app.id)
        if read is not None and read.form_kept(app):
            await self._session.execute(_SAVE_STATUS, {**_status_row(app), **_changes(app, now)})
        else:
            row = {k: v for k, v in _row(app).items() if k not in FIXED}
            await self._session.execute(_SAVE, {**row, **_changes(app, now)})
        app.history.clear()
        if app.offer is not None and not (read is not None and read.offer_kept(app)):
            await self._session.execute(_UPSERT_OFFER, _offer_row(app, app.offer))
        self._read[app.id] = _Read.of(app)

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
        rows = (await self._session.execute(_LATEST_OFFERS, {"ids": application_ids})).all()
        return {r[0]: offer_ for r in rows if (offer_ := _offer(r[1:])) is not None}
