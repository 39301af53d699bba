"""The operators' dead letters: every record a consumer of the platform parked, with why, newest first; and the
word, once its service's re-drive has sent it back, that it was re-driven (docs/dashboard.md)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query

from dashboard.adapters.repository_dead_letters import DeadLetterFilter
from dashboard.domain.commands import MarkRedriven
from dashboard.domain.errors import DeadLetterNotFound
from dashboard.entrypoints.deps import Uow
from dashboard.entrypoints.schemas import MAX_PAGE
from dashboard.entrypoints.schemas_dead_letters import (
    TOPIC_CHARS,
    TOPIC_NAME,
    DeadLetterOut,
    DeadLettersPage,
    RedrivenIn,
    dead_letter_filter,
    dead_letter_out,
)
from servicekit.auth import AUTH_RESPONSES, OPERATOR_ONLY, Operator, authenticated
from servicekit.bounds import INT32_MAX, INT64_MAX
from servicekit.http import PROBLEM_RESPONSES
from servicekit.runtime import Bus

router = APIRouter(tags=["dead letters"], responses={**PROBLEM_RESPONSES, **AUTH_RESPONSES},
                   dependencies=[Depends(authenticated), OPERATOR_ONLY])


@router.get("/dead-letters", response_model=DeadLettersPage,
            summary="Records parked on the platform's dead-letter topics, newest parked first, with why",
            description="Filtered by `topic` (the dead-letter topic or the one they came from), `consumer` (the "
                        "service that parked them) and `redriven`; `limit` and `before` page through them.")
async def dead_letters(uow: Uow, where: Annotated[DeadLetterFilter, Depends(dead_letter_filter)],
                       before: Annotated[int | None, Query(ge=1, le=INT64_MAX)] = None,
                       limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100) -> DeadLettersPage:
    rows = await uow.dead_letters.page(where, before=before, limit=limit)
    return DeadLettersPage(items=[dead_letter_out(row) for row in rows],
                           next_before=rows[-1]["seq"] if len(rows) == limit else None)


@router.post("/dead-letters/{topic}/{partition}/{offset}/redriven", response_model=DeadLetterOut,
             summary="Mark a parked record as re-driven",
             description="Called once the owning service's re-drive has sent the record back to its topic; a "
                         "second call notes the later re-drive. 404 if no record has been read at that place.")
async def mark_redriven(topic: Annotated[str, Path(min_length=1, max_length=TOPIC_CHARS, pattern=TOPIC_NAME)],
                        partition: Annotated[int, Path(ge=0, le=INT32_MAX)],
                        offset: Annotated[int, Path(ge=0, le=INT64_MAX)],
                        body: Annotated[RedrivenIn, Body()], caller: Operator, bus: Bus, uow: Uow) -> DeadLetterOut:
    await bus.handle(MarkRedriven(topic, partition, offset, by=body.by or caller.client_id))
    row = await uow.dead_letters.get(topic, partition, offset)
    if row is None:  # only if it went between the two statements: rows are never deleted
        raise DeadLetterNotFound(f"no parked record has been read at {topic}/{partition}/{offset}")
    return dead_letter_out(row)
