"""Cursor pagination: a page of items, and an opaque cursor over (time, id) of its last item, newest first."""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Generic, TypeVar
from uuid import UUID

from fastapi import Query
from pydantic import BaseModel, Field

from intake.domain.errors import InvalidInput

T = TypeVar("T")
Limit = Annotated[int, Query(ge=1, le=200, description="Items per page")]
CursorParam = Annotated[str | None, Query(max_length=500, description="`next_cursor` of the previous page")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


def encode(at: datetime, item_id: UUID) -> str:
    raw = json.dumps([at.isoformat(), str(item_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str | None) -> tuple[datetime, UUID] | None:
    if cursor is None:
        return None
    try:
        at, item_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None:
            raise ValueError("naive time")
        return parsed, UUID(item_id)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise InvalidInput(("cursor", "is not a cursor this API issued")) from exc


def page(items: Sequence[T], limit: int, key: Callable[[T], tuple[datetime, UUID]]) -> Page[T]:
    """A page from up to `limit + 1` items: the extra one only says that there is a next page."""
    shown = list(items[:limit])
    return Page[T](items=shown, next_cursor=encode(*key(shown[-1])) if len(items) > limit else None)
