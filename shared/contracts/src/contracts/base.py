"""The base of every event: identity, time, type name, topic and the aggregate it is keyed by."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from contracts.bounds import Instant

ENVELOPE_FIELDS = frozenset({"id", "type", "occurred_at"})


def utcnow() -> datetime:
    return datetime.now(UTC)


class Contract(BaseModel):
    """A value object carried inside events: immutable, and tolerant of fields added by newer producers."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Event(Contract):
    """Something that happened. `type` is a versioned name; a breaking change is a new type."""

    id: UUID = Field(default_factory=uuid4, description="Event id (CloudEvents `id`); the inbox key.")
    occurred_at: Instant = Field(default_factory=utcnow, description="When it happened (`time`).")
    type: str

    topic: ClassVar[str]
    subject_field: ClassVar[str] = "application_id"

    @property
    def subject(self) -> str:
        """The aggregate id: the Kafka key and the CloudEvents `subject`."""
        return str(getattr(self, self.subject_field))

    @classmethod
    def type_name(cls) -> str:
        return str(cls.model_fields["type"].default)

    def data(self) -> dict[str, object]:
        """The event body without the envelope attributes, as JSON-compatible values."""
        return self.model_dump(mode="json", exclude=set(ENVELOPE_FIELDS))
