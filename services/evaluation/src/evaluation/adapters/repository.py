"""Evaluations and withdrawals in and out of the database; the explanation (every check and component) is one JSON
column."""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Text, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from evaluation.adapters.orm import evaluation, withdrawal
from evaluation.adapters.repository_policies import in_force_version
from evaluation.domain.model import (
    Applicant,
    Check,
    Company,
    Component,
    CorporateParticipant,
    CriterionScore,
    Evaluation,
    ProgramCode,
    Recheck,
    Researcher,
    Status,
    Submission,
    Withdrawal,
)

APPLICANT_PREFIX = "applicant_"
NESTED = {"applicant", "company", "researcher", "corporate_participants"}
SUBMISSION_FIELDS = tuple(f.name for f in dataclasses.fields(Submission) if f.name not in NESTED)


def _json(value: Any) -> Any:
    """Dates as ISO strings, for the JSON columns."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _json(v) for k, v in vars(value).items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    return value.isoformat() if isinstance(value, date | datetime) else value


def _company(data: dict[str, Any] | None) -> Company | None:
    if data is None:
        return None
    return Company(**{**data, "representative_birth_date": date.fromisoformat(data["representative_birth_date"])})


def _researcher(data: dict[str, Any] | None) -> Researcher | None:
    if data is None:
        return None
    return Researcher(data["institution_type"], date.fromisoformat(data["appointment_date"]),
                      date.fromisoformat(data["birth_date"]))


def _recheck(data: dict[str, Any]) -> Recheck:
    offer_id = data.get("offer_id")
    return Recheck(at=datetime.fromisoformat(data["at"]), policy_version=data["policy_version"],
                   changes=data["changes"], checks=[Check(**c) for c in data["rules"]],
                   offer_id=UUID(offer_id) if offer_id else None)


def _explanation(result: Evaluation) -> dict[str, Any]:
    return {"rules": _json(result.checks), "eligibility_policy_version": result.eligibility_policy_version,
            "facts": result.facts, "components": _json(result.components), "criteria": _json(result.criteria),
            "reviews_received": result.reviews_received, "reviews_required": result.reviews_required,
            "rechecks": [{"at": r.at.isoformat(), "policy_version": r.policy_version, "changes": r.changes,
                          "rules": _json(r.checks), "offer_id": str(r.offer_id) if r.offer_id else None}
                         for r in result.rechecks]}


def _row(result: Evaluation) -> dict[str, Any]:
    s = result.submission
    return {
        **{name: getattr(s, name) for name in SUBMISSION_FIELDS},
        **{APPLICANT_PREFIX + k: v for k, v in vars(s.applicant).items()},
        "company": _json(s.company), "researcher": _json(s.researcher),
        "corporate_participants": _json(s.corporate_participants),
        "status": result.status.value, "score": result.score, "policy_version": result.policy_version,
        "explanation": _explanation(result), "failed_rules": result.failed_rules,
        "evaluated_at": result.evaluated_at,
    }


def _evaluation(row: Any) -> Evaluation:
    data = dict(row._mapping)
    applicant = Applicant(**{k.removeprefix(APPLICANT_PREFIX): data.pop(k)
                             for k in list(data) if k.startswith(APPLICANT_PREFIX)})
    submission = Submission(
        applicant=applicant, company=_company(data["company"]), researcher=_researcher(data["researcher"]),
        corporate_participants=tuple(CorporateParticipant(**c) for c in data["corporate_participants"]),
        **{name: data[name] for name in SUBMISSION_FIELDS})
    x = data["explanation"]
    return Evaluation(
        submission=submission, status=Status(data["status"]), score=data["score"],
        policy_version=data["policy_version"], evaluated_at=data["evaluated_at"],
        checks=[Check(**c) for c in x["rules"]], components=[Component(**c) for c in x["components"]],
        eligibility_policy_version=x.get("eligibility_policy_version", data["policy_version"]),
        criteria=[CriterionScore(**c) for c in x.get("criteria", [])], reviews_received=x.get("reviews_received", 0),
        reviews_required=x.get("reviews_required", 0),
        facts=x.get("facts", {}), failed_rules=list(data["failed_rules"]),
        rechecks=[_recheck(r) for r in x.get("rechecks", [])],
    )


# the statements of the worker's every arrival, built once with their parameters apart (an evaluation's are `_row`'s,
# one per column), so that SQLAlchemy neither rebuilds nor keys them again per call
_ROW = {c.name: bindparam(c.name, type_=c.type) for c in evaluation.c}
_APPLICATION = bindparam("application_id", type_=evaluation.c.application_id.type)
_ADD = (insert(evaluation).values(_ROW).on_conflict_do_nothing(index_elements=[evaluation.c.application_id])
        .returning(evaluation.c.application_id))
_SAVE = update(evaluation).where(evaluation.c.application_id == bindparam("key", type_=_APPLICATION.type)).values(_ROW)
_GET = select(evaluation).where(evaluation.c.application_id == _APPLICATION)
_GET_FOR_UPDATE = _GET.with_for_update()


class EvaluationRepository:
    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def add(self, result: Evaluation) -> bool:
        """Store the evaluation; False (and nothing changed) when the application already has one."""
        return (await self._session.execute(_ADD, _row(result))).first() is not None

    async def save(self, result: Evaluation) -> None:
        """Write back a changed evaluation (its status, score, explanation and current facts)."""
        await self._session.execute(_SAVE, {**_row(result), "key": result.application_id})

    async def get(self, application_id: UUID, *, for_update: bool = False) -> Evaluation | None:
        """One evaluation; `for_update` holds its row until the transaction ends (reviews and closes queue)."""
        stmt = _GET_FOR_UPDATE if for_update else _GET
        row = (await self._session.execute(stmt, {"application_id": application_id})).first()
        return _evaluation(row) if row else None

    async def awaiting_reviewers(self) -> list[Evaluation]:
        """Applications waiting for a panel, oldest submission first, locked so one registration assigns each."""
        stmt = (select(evaluation).where(evaluation.c.status == Status.AWAITING_REVIEWERS.value)
                .order_by(evaluation.c.submitted_at, evaluation.c.application_id).with_for_update())
        return [_evaluation(r) for r in (await self._session.execute(stmt)).all()]

    async def statuses(self, application_ids: Sequence[UUID]) -> dict[UUID, Status]:
        """Each one's status; `withdrawn` for one withdrawn before it arrived. The others are left out."""
        ids = list(application_ids)
        stmt = (select(evaluation.c.application_id, evaluation.c.status)
                .where(evaluation.c.application_id.in_(ids)))
        found = {r.application_id: Status(r.status) for r in (await self._session.execute(stmt)).all()}
        early = select(withdrawal.c.application_id).where(withdrawal.c.application_id.in_(ids))
        withdrawn = dict.fromkeys((await self._session.execute(early)).scalars(), Status.WITHDRAWN)
        return {**withdrawn, **found}

    async def find(self, *, program: ProgramCode | None = None, status: Status | None = None,
                   call_id: UUID | None = None, limit: int = 50) -> list[Evaluation]:
        """The latest decisions first, filtered by whatever is given."""
        stmt = (select(evaluation)
                .order_by(evaluation.c.evaluated_at.desc(), evaluation.c.application_id.desc()).limit(limit))
        filters = {"program": program, "status": status.value if status else None, "call_id": call_id}
        for column, value in filters.items():
            if value is not None:
                stmt = stmt.where(evaluation.c[column] == value)
        return [_evaluation(r) for r in (await self._session.execute(stmt)).all()]

    async def scored(self, *, call_id: UUID | None, limit: int) -> list[Evaluation]:
        """The latest scored applications (of one call, if given), for a preview: newest decision first."""
        stmt = (select(evaluation).where(evaluation.c.score.is_not(None))
                .order_by(evaluation.c.evaluated_at.desc(), evaluation.c.application_id.desc()).limit(limit))
        if call_id is not None:
            stmt = stmt.where(evaluation.c.call_id == call_id)
        return [_evaluation(r) for r in (await self._session.execute(stmt)).all()]


_LOCKED = func.pg_advisory_xact_lock(func.hashtextextended(bindparam("key", type_=Text), 0))
_LOCK = select(_LOCKED)
# an arrival's lock and the policy version in force at its submission, in one round trip
_LOCK_ARRIVAL = select(_LOCKED, in_force_version(bindparam("at", type_=evaluation.c.submitted_at.type)))
_WITHDRAWAL = (select(withdrawal.c.application_id, withdrawal.c.withdrawn_at, withdrawal.c.reason)
               .where(withdrawal.c.application_id == bindparam("application_id",
                                                               type_=withdrawal.c.application_id.type)))


def _lock_key(application_id: UUID) -> str:
    return f"evaluation.application:{application_id}"


class WithdrawalRepository:
    """Withdrawals on record, including those that came before their application's submission."""

    def __init__(self, session: AsyncConnection) -> None:
        self._session = session

    async def lock(self, application_id: UUID) -> None:
        """Serialise the application's withdrawal with its arrival, so the later of the two sees the earlier."""
        await self._session.execute(_LOCK, {"key": _lock_key(application_id)})

    async def lock_arrival(self, application_id: UUID, submitted_at: datetime) -> str | None:
        """`lock`, for the application's arrival, and the name of the policy version in force at `submitted_at` (as
        the statement found it when it started: no policy change waits for this lock, nor this lock for one)."""
        row = (await self._session.execute(_LOCK_ARRIVAL, {"key": _lock_key(application_id),
                                                           "at": submitted_at})).one()
        return row[1]  # type: ignore[no-any-return]

    async def add(self, item: Withdrawal) -> bool:
        """False when the application's withdrawal is on record already (nothing changes)."""
        stmt = (insert(withdrawal)
                .values(application_id=item.application_id, withdrawn_at=item.at, reason=item.reason)
                .on_conflict_do_nothing(index_elements=[withdrawal.c.application_id])
                .returning(withdrawal.c.application_id))
        return (await self._session.execute(stmt)).first() is not None

    async def get(self, application_id: UUID) -> Withdrawal | None:
        row = (await self._session.execute(_WITHDRAWAL, {"application_id": application_id})).first()
        return Withdrawal(row.application_id, row.withdrawn_at, row.reason) if row else None
