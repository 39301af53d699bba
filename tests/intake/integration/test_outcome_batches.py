"""A batch of other services' outcomes on the real database: the applications it changes are read for update in one
statement, in the order of their ids, and each outcome lands as it would alone."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import event

from intake.bootstrap import bootstrap
from intake.domain.commands import CreateApplication, RecordOutcome
from intake.domain.model import Status
from intake.service.handlers import lock_applications
from support.stack import Stack

from .test_application_reads import AT, P3_FORM


async def test_a_batch_reads_its_applications_for_update_in_one_statement(stack: Stack) -> None:
    runtime = bootstrap(stack.settings("intake"), clock=lambda: AT)
    reads: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().startswith("SELECT") and "FOR UPDATE OF application" in statement:
            reads.append(statement)

    try:
        first, second, third = [(await runtime.bus.handle(CreateApplication(partner_id=uuid.uuid4(), form=P3_FORM))).id
                                for _ in range(3)]
        batch = [RecordOutcome(third, Status.SCORED, "score 70.00", AT),
                 RecordOutcome(first, Status.SCORED, "score 81.50", AT),
                 RecordOutcome(third, Status.ACTIVE, "4 GPUs allocated", AT),
                 RecordOutcome(second, Status.WAITLISTED, "no capacity now", AT)]
        event.listen(runtime.engine.sync_engine, "before_cursor_execute", note)
        try:
            ran = await runtime.bus.handle_in_order([(uuid.uuid4(), "outcome", c) for c in batch],
                                                    prepare=lock_applications)
        finally:
            event.remove(runtime.engine.sync_engine, "before_cursor_execute", note)
        # one for the three, then the second outcome of `third` reads it again (alone: four, one an outcome)
        assert ran == 4 and len(reads) == 2
        async with runtime.uow_factory() as uow:
            apps = [await uow.applications.get(a) for a in (first, second, third)]
            history = await uow.applications.history(third)
        assert [a.status if a else None for a in apps] == [Status.SCORED, Status.WAITLISTED, Status.ACTIVE]
        assert [h["status"] for h in history] == ["submitted", "scored", "active"]
    finally:
        await runtime.aclose()
