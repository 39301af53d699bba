"""Choosing concrete GPUs for a request, without a database."""
from __future__ import annotations

from uuid import uuid4

import pytest

from allocation.domain import model
from allocation.domain.errors import InvalidInput

CSP_ID = uuid4()


def a_server(name: str, gpus: int = 8) -> model.Server:
    return model.Server(id=uuid4(), csp_id=CSP_ID, csp="gamma-cloud", name=name, region="Gwangju",
                        gpu_model="H100", gpus=gpus, pool="P3")


def free_on(server: model.Server, free: int) -> list[model.Slot]:
    """The server with only its last `free` GPUs free."""
    return server.free_slots(taken=set(range(server.gpus - free)))


def placed(slots: list[model.Slot] | None) -> list[tuple[str, int]]:
    assert slots is not None
    return [(s.server_name, s.gpu_index) for s in slots]


def test_the_fullest_server_that_fits_is_chosen_over_emptier_ones() -> None:
    a, b, c = a_server("p3-gov-01"), a_server("p3-gov-02"), a_server("p3-gov-03")
    slots = model.choose_slots(3, [free_on(a, 8), free_on(b, 4), free_on(c, 3)])
    assert placed(slots) == [("p3-gov-03", 5), ("p3-gov-03", 6), ("p3-gov-03", 7)]


def test_between_equally_full_servers_the_first_by_name_wins() -> None:
    b, a = a_server("p3-gov-02"), a_server("p3-gov-01")
    slots = model.choose_slots(2, [free_on(b, 4), free_on(a, 4)])
    assert placed(slots) == [("p3-gov-01", 4), ("p3-gov-01", 5)]


def test_a_request_no_single_server_holds_spans_the_fewest_servers() -> None:
    a, b, c, d, e = (a_server(f"p3-gov-0{i}") for i in range(1, 6))
    slots = model.choose_slots(12, [free_on(a, 3), free_on(b, 3), free_on(c, 3), free_on(d, 7), free_on(e, 6)])
    chosen = placed(slots)
    assert len(chosen) == len(set(chosen)) == 12
    assert {name for name, _ in chosen} == {"p3-gov-04", "p3-gov-05"}


def test_the_remainder_of_a_spanning_request_goes_to_the_fullest_server_that_covers_it() -> None:
    a, b, c = a_server("p3-gov-01"), a_server("p3-gov-02"), a_server("p3-gov-03")
    slots = model.choose_slots(10, [free_on(a, 8), free_on(b, 8), free_on(c, 3)])
    assert placed(slots) == [*[("p3-gov-01", i) for i in range(8)], ("p3-gov-03", 5), ("p3-gov-03", 6)]


def test_slots_come_out_in_server_name_then_gpu_index_order() -> None:
    a, b = a_server("p3-gov-01"), a_server("p3-gov-02")
    slots = model.choose_slots(10, [b.free_slots(taken={1, 3}), a.free_slots(taken={0, 5})])
    assert placed(slots) == sorted(placed(slots))
    assert [i for name, i in placed(slots) if name == "p3-gov-01"] == [1, 2, 3, 4, 6, 7]
    assert [i for name, i in placed(slots) if name == "p3-gov-02"] == [0, 2, 4, 5]


def test_too_few_free_gpus_in_total_is_no_fit() -> None:
    a, b = a_server("p3-gov-01"), a_server("p3-gov-02")
    assert model.choose_slots(7, [free_on(a, 3), free_on(b, 3)]) is None


def test_an_empty_pool_is_no_fit() -> None:
    assert model.choose_slots(1, []) is None


def test_a_gpu_index_beyond_the_servers_gpus_is_refused() -> None:
    with pytest.raises(InvalidInput) as error:
        a_server("p3-gov-01", gpus=4).slot(4)
    assert error.value.field == "gpu_index"


def test_busy_gpus_are_never_offered() -> None:
    server = a_server("p3-gov-01", gpus=4)
    assert [s.gpu_index for s in server.free_slots(taken={0, 2})] == [1, 3]


UUIDS = tuple(f"GPU-5d5e7a9c-1b2f-4c3d-9e8f-{i:012x}" for i in range(4))


def test_gpu_uuids_are_written_as_nvidia_smi_writes_them_and_each_gpu_carries_its_own() -> None:
    assert model.gpu_uuids([u.upper() for u in UUIDS], 4) == UUIDS  # "GPU-" stays, the hex is lower case
    assert model.gpu_uuids([], 4) == ()
    server = model.Server(id=uuid4(), csp_id=CSP_ID, csp="gamma-cloud", name="p3-gov-01", region="Gwangju",
                          gpu_model="H100", gpus=4, pool="P3", gpu_uuids=UUIDS)
    assert [s.gpu_uuid for s in server.free_slots(taken={1})] == [UUIDS[0], UUIDS[2], UUIDS[3]]
    assert a_server("p3-gov-02").slot(0).gpu_uuid is None
    assert server.slot(2) == a_server("p3-gov-01").slot(2)  # a GPU is its server and index, whatever its UUID


@pytest.mark.parametrize(("values", "fields"), [
    ((*UUIDS[:3],), ["gpu_uuids"]),
    ((*UUIDS[:3], "gpu-5d5e7a9c"), ["gpu_uuids.3"]),
    ((UUIDS[0], "GPU-5d5e7a9c\n", UUIDS[2], "GPU-" + "a" * 65), ["gpu_uuids.1", "gpu_uuids.3"]),
    ((UUIDS[0], UUIDS[1], UUIDS[1].upper(), UUIDS[0]), ["gpu_uuids.2", "gpu_uuids.3"]),
], ids=["one-missing", "lower-case-prefix", "line-break-and-too-long", "repeated"])
def test_gpu_uuids_of_the_wrong_count_form_or_repeated_are_refused_naming_each(values: tuple[str, ...],
                                                                               fields: list[str]) -> None:
    with pytest.raises(InvalidInput) as refused:
        model.gpu_uuids(values, 4)
    assert [f for f, _ in refused.value.problems] == fields
