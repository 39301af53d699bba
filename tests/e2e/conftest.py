"""End-to-end fixtures: all five services as real processes on the test's database and topic prefix."""
from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from support.processes import ServiceProcesses
from support.stack import Stack


@pytest.fixture
async def services(stack: Stack, request: pytest.FixtureRequest) -> AsyncIterator[dict[str, str]]:
    """Each service's base URL; a module may override this fixture to start them with other settings."""
    processes = ServiceProcesses(stack.infra, stack.database, stack.topic_prefix)
    try:
        await processes.start(request.node.name)
        yield processes.urls
    finally:
        await processes.stop()
