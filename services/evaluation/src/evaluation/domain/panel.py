"""Review panels: who may not review an application (conflicts of interest) and who is picked to.

Picking order: the most expertise terms found in the application's purpose, then the fewest open assignments,
then name and id, so the same pool always yields the same panel. An assignment is open until its review is in, the
round decides the application, or the application is withdrawn (which ends its assignments).
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from evaluation.domain.model import ProgramCode, Status, Submission

SAME_INSTITUTION = "same_institution"
NAMED_ON_APPLICATION = "named_on_application"


@dataclass(frozen=True)
class Reviewer:
    id: UUID
    name: str
    institution: str
    expertise: tuple[str, ...] = ()
    active: bool = True


@dataclass(frozen=True)
class Exclusion:
    reviewer_id: UUID
    reason: str  # "<kind>: <why>"


@dataclass(frozen=True)
class Assignment:
    """A reviewer's place on an application's panel; `scores` once the review is in, `ended_at` once the
    application's withdrawal ended it without a review."""

    application_id: UUID
    reviewer_id: UUID
    reviewer_name: str
    assigned_at: datetime
    scores: dict[str, float] | None
    reviewed_at: datetime | None
    program: ProgramCode
    call_id: UUID | None
    status: str  # the application's evaluation status
    ended_at: datetime | None = None

    @property
    def open(self) -> bool:
        """Still waiting for this reviewer: no review yet, not ended, and the application still in review."""
        return self.reviewed_at is None and self.ended_at is None and self.status == Status.IN_REVIEW


def open_load(assignments: Iterable[Assignment]) -> Counter[UUID]:
    """Per reviewer, its open assignments: the load `choose_panel` prefers the least of."""
    return Counter(a.reviewer_id for a in assignments if a.open)


@dataclass(frozen=True)
class Panel:
    assigned: list[Reviewer]
    excluded: list[Exclusion]


def _norm(text: str) -> str:
    """Names compare without case or spacing differences ("KAIST" = " kaist ", "Acme  AI" = "acme ai")."""
    return " ".join(text.split()).casefold()


def names_on(s: Submission) -> dict[str, str]:
    """Every name the application carries, normalised, with where it appears."""
    named = {_norm(s.applicant.name): "the applicant", _norm(s.applicant.institution): "the applicant's institution"}
    named.update({_norm(c.name): "a corporate participant" for c in s.corporate_participants})
    named.pop("", None)
    return named


def conflict(reviewer: Reviewer, s: Submission) -> str | None:
    """Why the reviewer may not review this application, or None."""
    if _norm(reviewer.institution) == _norm(s.applicant.institution):
        return f"{SAME_INSTITUTION}: {reviewer.institution} is the applicant's institution"
    named = names_on(s)
    for name in (reviewer.institution, reviewer.name):
        where = named.get(_norm(name))
        if where is not None:
            return f"{NAMED_ON_APPLICATION}: {name} is named on the application as {where}"
    return None


def expertise_matches(reviewer: Reviewer, s: Submission) -> int:
    """How many of the reviewer's expertise terms appear as words in the application's purpose."""
    text = _norm(s.purpose)
    return sum(1 for term in reviewer.expertise
               if _norm(term) and re.search(rf"\b{re.escape(_norm(term))}\b", text))


def choose_panel(s: Submission, pool: Sequence[Reviewer], load: Mapping[UUID, int], wanted: int) -> Panel:
    """Exclude conflicts (inactive reviewers are simply not in the pool), then pick `wanted` in order.

    `assigned` is empty when fewer than `wanted` reviewers remain: the application waits for more.
    """
    excluded, eligible = [], []
    for reviewer in pool:
        if not reviewer.active:
            continue
        reason = conflict(reviewer, s)
        if reason is None:
            eligible.append(reviewer)
        else:
            excluded.append(Exclusion(reviewer.id, reason))
    if len(eligible) < wanted:
        return Panel([], excluded)
    eligible.sort(key=lambda r: (-expertise_matches(r, s), load.get(r.id, 0), _norm(r.name), str(r.id)))
    return Panel(eligible[:wanted], excluded)
