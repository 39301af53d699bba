"""The relay's partitioner gives every key the partition Kafka's own clients give it."""
from __future__ import annotations

import random

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2

from servicekit.kafka import murmur2, partition_for


def signed(value: int) -> int:
    return value - (1 << 32) if value >= 1 << 31 else value


# the Java client's own cases for Utils.murmur2 (Kafka's UtilsTest.testMurmur2)
JAVA_CASES = {b"21": -973932308, b"foobar": -790332482, b"a-little-bit-long-string": -985981536,
              b"a-little-bit-longer-string": -1486304829,
              b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971, b"abc": 479470107}


@pytest.mark.parametrize(("key", "expected"), JAVA_CASES.items())
def test_murmur2_is_the_java_clients_hash(key: bytes, expected: int) -> None:
    assert signed(murmur2(key)) == expected


def test_murmur2_agrees_with_aiokafkas_for_every_length_and_tail() -> None:
    rng = random.Random(14)
    for length in range(0, 130):  # every remainder mod 4, empty to long
        for _ in range(20):
            key = rng.randbytes(length)
            assert murmur2(key) == aiokafka_murmur2(key), key


def test_a_key_goes_where_aiokafkas_default_partitioner_sends_it() -> None:
    rng = random.Random(7)
    default = DefaultPartitioner()
    for count in (1, 2, 3, 6, 12, 50):
        partitions = list(range(count))
        for _ in range(200):
            key = str(rng.getrandbits(128)).encode()
            assert partition_for(key, partitions) == default(key, partitions, partitions)


def test_a_record_without_a_key_goes_to_an_available_partition() -> None:
    assert {partition_for(None, [0, 1, 2], [2]) for _ in range(20)} == {2}
    assert {partition_for(None, [0, 1, 2]) for _ in range(200)} == {0, 1, 2}
