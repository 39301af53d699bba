"""Allocation's events on the wire: a waived reclaim, a CSP registered, and the GPUs' UUIDs and the CSP's id in an
allocation's slots, which older events do not carry."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import (
    REGISTRY,
    CspRegistered,
    GpuSlot,
    PoisonMessage,
    ReclaimWaived,
    ResourceAllocated,
    from_record,
    to_record,
    topics,
)

START = datetime(2026, 12, 1, tzinfo=UTC)
A_UUID = "GPU-5d5e7a9c-1b2f-4c3d-9e8f-0123456789ab"


def an_allocation(*slots: GpuSlot) -> ResourceAllocated:
    return ResourceAllocated(
        application_id=uuid.uuid4(), allocation_id=uuid.uuid4(), program="P3", gpu_model="H100", gpus=len(slots),
        slots=list(slots), starts_at=START, ends_at=START.replace(month=12, day=31), planned_gpu_hours_per_month=100)


def a_slot(gpu_index: int, gpu_uuid: str | None = None) -> GpuSlot:
    return GpuSlot(server_id=uuid.UUID(int=1), server_name="p3-gov-01", csp="gov", gpu_index=gpu_index,
                   gpu_uuid=gpu_uuid)


def with_slots(event: ResourceAllocated, slots: list[dict[str, Any]]) -> tuple[Any, bytes]:
    record = to_record(event, source="/x")
    return record.headers, json.dumps({**json.loads(record.value), "slots": slots}).encode()


def test_a_waived_reclaim_is_published_on_the_allocations_topic_keyed_by_the_application() -> None:
    event = ReclaimWaived(application_id=uuid.uuid4(), allocation_id=uuid.uuid4(), waived_at=START)
    record = to_record(event, source="/gpu-platform/allocation")
    headers = {k: v.decode() for k, v in record.headers}
    assert (event.topic, headers["ce_type"]) == (topics.ALLOCATIONS, "allocation.reclaim_waived.v1")
    assert record.key == str(event.application_id).encode()
    assert json.loads(record.value) == {"application_id": str(event.application_id),
                                        "allocation_id": str(event.allocation_id), "waived_at": "2026-12-01T00:00:00Z"}
    assert from_record(record.headers, record.value) == event


def test_a_waiver_dated_beyond_the_calendar_bounds_is_poison() -> None:
    record = to_record(ReclaimWaived(application_id=uuid.uuid4(), allocation_id=uuid.uuid4(), waived_at=START),
                       source="/x")
    body = json.dumps({**json.loads(record.value), "waived_at": "9999-12-31T00:00:00Z"}).encode()
    with pytest.raises(PoisonMessage, match="waived_at"):
        from_record(record.headers, body)


def test_a_slot_carries_its_gpus_uuid_and_a_slot_of_an_older_event_none() -> None:
    event = an_allocation(a_slot(0, A_UUID), a_slot(1))
    record = to_record(event, source="/x")
    assert from_record(record.headers, record.value) == event
    older = [{"server_id": str(uuid.UUID(int=1)), "server_name": "p3-gov-01", "csp": "gov", "gpu_index": 0},
             {"server_id": str(uuid.UUID(int=1)), "server_name": "p3-gov-01", "csp": "gov", "gpu_index": 1}]
    decoded = from_record(*with_slots(event, older))
    assert isinstance(decoded, ResourceAllocated)
    assert [s.gpu_uuid for s in decoded.slots] == [None, None]


def test_a_slot_carries_its_csp_s_id_and_a_slot_of_an_older_event_none() -> None:
    gov = uuid.uuid4()
    event = an_allocation(a_slot(0).model_copy(update={"csp_id": gov}))
    record = to_record(event, source="/x")
    decoded = from_record(record.headers, record.value)
    assert decoded == event and isinstance(decoded, ResourceAllocated) and decoded.slots[0].csp_id == gov
    older = from_record(*with_slots(event, [{"server_id": str(uuid.UUID(int=1)), "server_name": "p3-gov-01",
                                             "csp": "gov", "gpu_index": 0}]))
    assert isinstance(older, ResourceAllocated) and older.slots[0].csp_id is None


def test_a_registered_csp_is_published_on_the_allocations_topic_keyed_by_its_id() -> None:
    event = CspRegistered(csp_id=uuid.uuid4(), name="alpha-cloud")
    record = to_record(event, source="/gpu-platform/allocation")
    headers = {k: v.decode() for k, v in record.headers}
    assert (event.topic, headers["ce_type"]) == (topics.ALLOCATIONS, "allocation.csp_registered.v1")
    assert REGISTRY["allocation.csp_registered.v1"] is CspRegistered
    assert record.key == str(event.csp_id).encode()
    assert json.loads(record.value) == {"csp_id": str(event.csp_id), "name": "alpha-cloud"}
    assert from_record(record.headers, record.value) == event


@pytest.mark.parametrize("name", ["", "a\nb", "x" * 101], ids=["empty", "control", "too-long"])
def test_a_registered_csp_without_a_usable_name_is_poison(name: str) -> None:
    record = to_record(CspRegistered(csp_id=uuid.uuid4(), name="alpha-cloud"), source="/x")
    body = json.dumps({**json.loads(record.value), "name": name}).encode()
    with pytest.raises(PoisonMessage, match="name"):
        from_record(record.headers, body)


@pytest.mark.parametrize("gpu_uuid", ["5d5e7a9c-1b2f-4c3d-9e8f-0123456789ab", "GPU-5d5e\x00", "GPU-" + "a" * 65,
                                      "GPU-xyz12345"],
                         ids=["no-prefix", "nul", "too-long", "not-hex"])
def test_a_slot_whose_gpu_uuid_is_not_one_is_poison(gpu_uuid: str) -> None:
    event = an_allocation(a_slot(0))
    slots = [{**a_slot(0).model_dump(mode="json"), "gpu_uuid": gpu_uuid}]
    with pytest.raises(PoisonMessage, match="gpu_uuid"):
        from_record(*with_slots(event, slots))
