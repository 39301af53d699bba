"""The rate limiter's arithmetic and memory, and the JSON depth count, without I/O."""
from __future__ import annotations

import pytest

from servicekit.limits import JsonDepth, JsonTooDeep
from servicekit.ratelimit import Rate, RateLimiter

SIX_A_MINUTE = Rate(per_minute=6, burst=3)  # one every 10 s, three at once


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_gets_its_burst_then_one_request_per_interval() -> None:
    clock = Clock()
    limiter = RateLimiter(max_clients=10, clock=clock)
    assert [limiter.admit("a", SIX_A_MINUTE) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.admit("a", SIX_A_MINUTE) == pytest.approx(10.0)
    clock.now += 4
    assert limiter.admit("a", SIX_A_MINUTE) == pytest.approx(6.0)
    clock.now += 6
    assert limiter.admit("a", SIX_A_MINUTE) == 0.0
    assert limiter.admit("a", SIX_A_MINUTE) == pytest.approx(10.0)


def test_a_refused_request_does_not_push_the_client_s_next_chance_further() -> None:
    clock = Clock()
    limiter = RateLimiter(max_clients=10, clock=clock)
    for _ in range(3):
        limiter.admit("a", SIX_A_MINUTE)
    waits = [limiter.admit("a", SIX_A_MINUTE) for _ in range(50)]
    assert waits == [pytest.approx(10.0)] * 50


def test_clients_are_counted_apart() -> None:
    limiter = RateLimiter(max_clients=10, clock=Clock())
    for _ in range(3):
        limiter.admit("a", SIX_A_MINUTE)
    assert limiter.admit("a", SIX_A_MINUTE) > 0
    assert limiter.admit("b", SIX_A_MINUTE) == 0.0


def test_idle_clients_are_forgotten_and_memory_stays_bounded() -> None:
    clock = Clock()
    limiter = RateLimiter(max_clients=100, clock=clock)
    for n in range(1_000):
        limiter.admit(f"client-{n}", SIX_A_MINUTE)
    assert len(limiter) == 100
    clock.now += 60  # every allowance is whole again
    for n in range(50):
        limiter.admit(f"late-{n}", SIX_A_MINUTE)
    assert len(limiter) == 50


@pytest.mark.parametrize(("text", "depth"), [
    (b'{"a": [1, {"b": []}]}', 4),
    (b'{"brackets in a string": "[[[{{{", "escaped quote": "\\"[[[["}', 1),
    (b'["back\\\\slash", [["x"]]]', 3),
])
def test_the_depth_of_a_json_text_counts_brackets_outside_strings(text: bytes, depth: int) -> None:
    exact, one_less = JsonDepth(depth), JsonDepth(depth - 1)
    exact.feed(text)
    with pytest.raises(JsonTooDeep):
        one_less.feed(text)
    assert exact.depth == 0


def test_the_depth_is_counted_across_chunks_even_when_one_ends_on_an_escape() -> None:
    text = b'{"s": "ab\\"[[[[[[", "t": [[1]]}'
    cut = text.index(b"\\") + 1
    depth = JsonDepth(3)
    depth.feed(text[:cut])
    depth.feed(text[cut:])
    assert depth.depth == 0
    split_everywhere = JsonDepth(2)
    with pytest.raises(JsonTooDeep):
        for i in range(len(text)):
            split_everywhere.feed(text[i:i + 1])
