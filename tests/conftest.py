"""Fixtures on the real broker and database: every test gets its own database and its own topic prefix."""
from __future__ import annotations

import uuid
import warnings
from collections.abc import AsyncIterator, Iterator

import pytest
from aiokafka.errors import KafkaError

from support import databases
from support.infra import Infra, provide
from support.kafka import delete_topics_with_prefix
from support.processes import ServiceProcesses
from support.stack import Stack


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    with provide() as found:
        yield found


@pytest.fixture(scope="session")
async def template_database(infra: Infra) -> AsyncIterator[str]:
    name = await databases.create_template(infra)
    yield name
    await databases.drop(infra, name)


@pytest.fixture
async def stack(infra: Infra, template_database: str) -> AsyncIterator[Stack]:
    database = await databases.clone(infra, template_database)
    prefix = f"t{uuid.uuid4().hex[:10]}."
    yield Stack(infra=infra, database=database, topic_prefix=prefix)
    await databases.drop(infra, database)
    try:
        await delete_topics_with_prefix(infra.kafka_bootstrap, prefix)
    except KafkaError as exc:  # housekeeping only: a broker away now must not fail the test that just passed
        warnings.warn(f"topics {prefix}* not deleted: {exc}", stacklevel=1)


@pytest.fixture
async def services(stack: Stack, request: pytest.FixtureRequest) -> AsyncIterator[dict[str, str]]:
    """Every service as real processes (api and worker) on the test's database and topics: each one's base URL. A
    module may override this fixture to start them with other settings."""
    processes = ServiceProcesses(stack.infra, stack.database, stack.topic_prefix)
    try:
        await processes.start(request.node.name)
        yield processes.urls
    finally:
        await processes.stop()
