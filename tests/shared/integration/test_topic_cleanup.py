"""Deleting a prefix's topics on the real broker: what tests and benchmarks do when they end."""
from __future__ import annotations

import pytest

from servicekit.kafka import delete_topics_with_prefix, ensure_topics, make_admin
from servicekit.settings import KafkaSettings
from support.stack import Stack, eventually


async def topics_named(settings: KafkaSettings, prefix: str) -> set[str]:
    admin = make_admin(settings, client_id="test")
    await admin.start()
    try:
        return {t for t in await admin.list_topics() if t.startswith(prefix)}
    finally:
        await admin.close()


async def gone(settings: KafkaSettings, prefix: str) -> bool:
    return not await topics_named(settings, prefix)


async def test_the_prefixs_topics_go_and_a_neighbours_stay(stack: Stack) -> None:
    settings = KafkaSettings(bootstrap_servers=stack.infra.kafka_bootstrap, topic_partitions=1)
    mine, neighbour = stack.topic("run-1."), stack.topic("run-10.")  # "run-1" is a prefix of the neighbour's name
    await ensure_topics(settings, [f"{mine}a", f"{mine}b", f"{neighbour}a"], client_id="test")
    deleted = await delete_topics_with_prefix(settings, mine, client_id="test")
    assert sorted(deleted) == [f"{mine}a", f"{mine}b"]
    # the broker's metadata follows the controller's a moment later
    await eventually(lambda: gone(settings, mine), what=f"{mine}* gone from the broker's metadata")
    assert await topics_named(settings, neighbour) == {f"{neighbour}a"}
    assert await delete_topics_with_prefix(settings, mine, client_id="test") == []


async def test_an_empty_prefix_is_refused_before_anything_is_deleted(stack: Stack) -> None:
    settings = KafkaSettings(bootstrap_servers=stack.infra.kafka_bootstrap, topic_partitions=1)
    await ensure_topics(settings, [stack.topic("kept")], client_id="test")
    with pytest.raises(ValueError, match="every topic"):
        await delete_topics_with_prefix(settings, "", client_id="test")
    assert await topics_named(settings, stack.topic("kept")) == {stack.topic("kept")}
