"""The dead letters' API: a parked record as operators see it, a page of them, the filters, and the word that one
was re-driven."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from dashboard.adapters.repository_dead_letters import DeadLetterFilter
from dashboard.domain.dead_letters import VALUE_EXCERPT_BYTES
from servicekit.bounds import Line, SingleLine

TOPIC_NAME = r"^[A-Za-z0-9._-]+$"  # what Kafka allows in a topic's name
TOPIC_CHARS = 249
CLIENT_ID_CHARS = 200
Topic = Annotated[str, Field(min_length=1, max_length=TOPIC_CHARS, pattern=TOPIC_NAME)]


class DeadLetterOut(BaseModel):
    seq: int = Field(description="The order the dashboard read it in; pass the last one's as `before` for the "
                                 "next page.")
    topic: str = Field(description="The dead-letter topic it is parked on (`<topic>.dlq`).")
    partition: int
    offset: int
    source_topic: str | None = Field(description="The topic it was parked from (`dlq_source`).")
    source_partition: int | None
    source_offset: int | None
    consumer: str | None = Field(description="The consumer group, the service, that parked it (`dlq_consumer`): "
                                             "the one whose re-drive sends it back.")
    handler: str | None = Field(description="The translation that ran (`on_scored`), or `decode`.")
    attempts: int | None
    reason: str | None = Field(description="The error's class (`dlq_error_type`): `PoisonMessage` for a record "
                                           "that did not decode, `unreadable` for one kept without its content.")
    error: str | None = Field(description="The error's message (`dlq_error`), at most 4,000 characters.")
    event_type: str | None = Field(description="`ce_type` of its headers (or `type` of a JSON body), if any.")
    event_id: str | None = Field(description="`ce_id` of its headers (or `id` of a JSON body), if any.")
    key: str | None
    value_excerpt: str | None = Field(description=f"The first {VALUE_EXCERPT_BYTES} bytes of its value as UTF-8 "
                                                  "text (bytes that are not, replaced).")
    value_bytes: int | None = Field(description="Its value's whole size; null for a record without a value.")
    headers: dict[str, str] = Field(description="Its original headers (CloudEvents attributes, trace context).")
    parked_at: datetime
    redriven_at: datetime | None
    redriven_by: str | None


class DeadLettersPage(BaseModel):
    items: list[DeadLetterOut]
    next_before: int | None = Field(description="Pass as `before` for the next (older) page; null at the end.")


class RedrivenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    by: Annotated[str, Field(min_length=1, max_length=CLIENT_ID_CHARS), SingleLine] | None = Field(
        default=None, description="The operator who re-drove it (a client id); by default, the caller's.")


def dead_letter_out(row: dict[str, Any]) -> DeadLetterOut:
    return DeadLetterOut(topic=row["dlq_topic"], partition=row["dlq_partition"], offset=row["dlq_offset"],
                         **{k: v for k, v in row.items() if not k.startswith("dlq_")})


def dead_letter_filter(
    topic: Annotated[str | None, Query(min_length=1, max_length=TOPIC_CHARS, pattern=TOPIC_NAME,
                                       description="A dead-letter topic, or the topic records were parked from "
                                                   "(either with the deployment's prefix)")] = None,
    consumer: Annotated[Line | None, Query(min_length=1, max_length=255,
                                           description="The service that parked them")] = None,
    redriven: Annotated[bool | None, Query(description="true: re-driven only; false: waiting only")] = None,
) -> DeadLetterFilter:
    return DeadLetterFilter(topic=topic, consumer=consumer, redriven=redriven)
