"""`POST /dead-letters/redrive`, on every service (servicekit.runtime.build_api): an operator sends one record that
the service's consumer parked back to the topic it came from (servicekit.redrive.redrive_one), the way a dashboard's
"re-drive" button does for the record it shows. Refusals publish nothing."""
from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from servicekit.auth import AUTH_RESPONSES, OPERATOR_ONLY
from servicekit.http import PROBLEM_RESPONSES, DomainErrors
from servicekit.redrive import NoParkedRecord, ParkedElsewhere, UnknownDeadLetterTopic, redrive_one
from servicekit.runtime import runtime_of

MAX_PARTITION = 10_000
OFFSET_LIMIT = 2**62
REDRIVE_ERRORS: DomainErrors = {UnknownDeadLetterTopic: 422, NoParkedRecord: 404, ParkedElsewhere: 409}
# a Kafka topic name (at most 249 of these characters) that ends in .dlq
DeadLetterTopic = Annotated[str, Field(min_length=5, max_length=249, pattern=r"^[A-Za-z0-9._-]+\.dlq$",
                                       description="One of this deployment's dead-letter topics "
                                                   "(`<topic prefix><topic>.dlq`).",
                                       examples=["allocation.allocations.v1.dlq"])]

dead_letters = APIRouter(tags=["dead letters"], responses={**PROBLEM_RESPONSES, **AUTH_RESPONSES},
                         dependencies=[OPERATOR_ONLY])


class RedriveIn(BaseModel):
    """Where the record is parked: its dead-letter topic, partition and offset."""

    model_config = ConfigDict(extra="forbid")

    topic: DeadLetterTopic
    partition: int = Field(ge=0, le=MAX_PARTITION)
    offset: int = Field(ge=0, lt=OFFSET_LIMIT)


class RedrivenOut(BaseModel):
    topic: str = Field(description="The dead-letter topic the record is parked on (it stays there too).")
    partition: int
    offset: int
    source: str = Field(description="The topic it was sent back to: the one it came from.")
    consumer: str = Field(description="The consumer (the service) that had parked it.")


@dead_letters.post(
    "/dead-letters/redrive", response_model=RedrivenOut, summary="Re-drive one parked record",
    description="Sends the record parked at the topic, partition and offset back to the topic it came from, with its "
                "key and original headers (the `dlq_*` ones left off). Only the service whose consumer parked it "
                "re-drives it: a record parked by another is a 409 naming that service. 404 when the place holds "
                "no record (`errors` names the partition or the offset). Re-driving a record twice is harmless: "
                "the consumers' inboxes skip an event they have processed.")
async def redrive_record(body: RedriveIn, request: Request) -> RedrivenOut:
    done = await redrive_one(runtime_of(request.app).settings, body.topic, body.partition, body.offset)
    return RedrivenOut(**asdict(done))
