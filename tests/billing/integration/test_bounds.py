"""Input that cannot hurt, at billing's door: a control character in a GPU model or a price no column holds is a
422 naming the field, and nothing is stored."""
from __future__ import annotations

from support.auth import OPERATOR
from support.stack import Stack


async def test_a_tariff_for_a_gpu_model_with_a_nul_byte_is_refused_and_not_stored(stack: Stack) -> None:
    async with stack.api("billing") as api:
        response = await api.put("/tariffs/H100%00", json={"krw_per_gpu_hour": 3000}, headers=OPERATOR)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert [e["field"] for e in errors] == ["path.gpu_model"]
    assert errors[0]["reason"] == "must not contain control characters (found U+0000 at 4)"
    assert await stack.count("billing.tariff") == 0


async def test_a_price_beyond_a_32_bit_integer_is_refused_naming_it(stack: Stack) -> None:
    async with stack.api("billing") as api:
        response = await api.put("/tariffs/H100", json={"krw_per_gpu_hour": 2**31}, headers=OPERATOR)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["krw_per_gpu_hour"]
    assert await stack.count("billing.tariff") == 0
