"""Allocation's repositories in memory, behind the service layer's ports (allocation.service.unit_of_work), for the
fast tier (the inventory and the allocations in fakes_inventory.py), and what the tests start from.

They keep what the SQL repositories and the schema keep:
- an allocation holds its GPUs over [starts_at, ended_at or ends_at) as last saved, a lapsed hold over no time at all;
  `add` refuses a GPU held over an overlapping time (the exclusion constraint) and a second allocation of one
  application that has not lapsed (the unique index), and an offer of an allocation that does not exist (the key);
- `free_slots` gives, in server name order, each server of the model that one window of the pool covers for the
  whole period, with its GPUs free all along it (none with no GPU free; only the wholly free servers if asked);
  `window_spans` the spans of the pool's windows that overlap a period, each once; windows of one server never
  overlap; time ranges are half-open, None an open end, and an empty range overlaps nothing (PostgreSQL's `&&`);
- `get` hands out a copy (a change counts once saved) and `save` writes only what the SQL one writes;
- a GPU UUID belongs to one server (the unique key): `set_gpu_uuids` refuses one another server has, and
  `add_server` stores none of them;
- the waitlist is in rank order, a re-scored entry keeps its first arrival and its offer; a round is added once, and
  an application has one decision, found by its id.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime
from uuid import UUID, uuid4

from allocation.domain.commands import AllocateGpus, ConfirmEligibility, RegisterServer, SeedInventory
from allocation.domain.model import ProgramCode, RoundCandidate, Status, WaitlistEntry
from allocation.domain.offers import PENDING, Offer, OfferKind, OfferState
from allocation.domain.policy import Policy
from allocation.domain.rounds import Round, RoundDecision
from allocation.domain.whatif import RoundInput
from allocation.service.handlers import HANDLERS
from allocation.service.unit_of_work import AllocationUnitOfWork
from servicekit.bus import MessageBus
from servicekit.clock import Clock
from support.fakes import FakeUnitOfWork, fake_bus

from .fakes_inventory import ConstraintViolated, InMemoryAllocations, InMemoryInventory


class InMemoryRounds:
    def __init__(self) -> None:
        self.by_call: dict[UUID, Round] = {}
        self.decisions: dict[UUID, list[RoundDecision]] = {}
        self.inputs: dict[UUID, RoundInput] = {}

    def __getitem__(self, call_id: UUID) -> Round:
        return self.by_call[call_id]

    async def add(self, item: Round) -> bool:
        if item.call_id in self.by_call:
            return False
        self.by_call[item.call_id] = replace(item)
        return True

    async def get(self, call_id: UUID) -> Round | None:
        found = self.by_call.get(call_id)
        return replace(found) if found else None

    async def lock_pending(self, call_id: UUID) -> bool:
        found = self.by_call.get(call_id)
        return found is not None and found.status == "pending"

    async def save(self, item: Round) -> None:
        self.by_call[item.call_id] = replace(
            self.by_call[item.call_id], status=item.status, selected_at=item.selected_at, method=item.method,
            objective=item.objective, capacity=dict(item.capacity), reserve_gpus=item.reserve_gpus,
            reserve_gpus_used=item.reserve_gpus_used, solve_seconds=item.solve_seconds)

    async def add_decisions(self, call_id: UUID, decisions: list[RoundDecision]) -> None:
        known = {d.application_id for d in self.decisions.get(call_id, [])}
        if known & {d.application_id for d in decisions}:
            raise ConstraintViolated(f"round {call_id} has decided on these already")
        self.decisions.setdefault(call_id, []).extend(decisions)

    async def decision_of(self, application_id: UUID) -> tuple[UUID, RoundDecision] | None:
        return next(((call_id, d) for call_id, line in self.decisions.items() for d in line
                     if d.application_id == application_id), None)

    async def save_decision(self, call_id: UUID, decision: RoundDecision) -> None:
        line = self.decisions[call_id]
        (at,) = [i for i, d in enumerate(line) if d.application_id == decision.application_id]
        line[at] = decision

    async def add_input(self, item: RoundInput) -> None:
        if item.call_id not in self.by_call or item.call_id in self.inputs:
            raise ConstraintViolated(f"round {item.call_id} is unknown or has its input kept already")
        self.inputs[item.call_id] = item

    async def input_of(self, call_id: UUID) -> tuple[RoundInput, list[RoundDecision]] | None:
        found = self.inputs.get(call_id)
        return (found, list(self.decisions.get(call_id, []))) if found else None


class InMemoryWaitingLines:
    def __init__(self, rounds: InMemoryRounds, allocations: InMemoryAllocations) -> None:
        self._rounds = rounds
        self._allocations = allocations
        self.waitlisted: dict[UUID, WaitlistEntry] = {}
        self.candidates_by_id: dict[UUID, RoundCandidate] = {}
        self.excluded_because: dict[UUID, str] = {}

    async def add_waitlisted(self, *entries: WaitlistEntry) -> None:
        for entry in entries:
            if (known := self.waitlisted.get(entry.application_id)) is not None:
                entry = replace(entry, created_at=known.created_at, offer_id=known.offer_id)
            self.waitlisted[entry.application_id] = entry

    async def waitlist(self, *, program: ProgramCode | None = None, gpu_model: str | None = None,
                       without_offer: bool = False, limit: int = 200) -> list[WaitlistEntry]:
        found = [e for e in self.waitlisted.values()
                 if program in (None, e.program) and gpu_model in (None, e.gpu_model)
                 and not (without_offer and e.offer_id is not None)]
        found.sort(key=lambda e: (-e.score, e.rank is None, e.rank or 0, e.created_at, e.application_id))
        return found[:limit]

    async def hold_for(self, application_id: UUID, offer_id: UUID | None) -> None:
        if (known := self.waitlisted.get(application_id)) is not None:
            self.waitlisted[application_id] = replace(known, offer_id=offer_id)

    async def add_candidate(self, candidate: RoundCandidate) -> None:
        self.candidates_by_id[candidate.application_id] = candidate

    async def candidates(self, *, program: ProgramCode | None = None,
                         call_id: UUID | None = None) -> list[RoundCandidate]:
        found = [c for c in self.candidates_by_id.values()
                 if program in (None, c.program) and call_id in (None, c.call_id)]
        return sorted(found, key=lambda c: (-c.score, c.application_id))

    async def first_missing(self, call_id: UUID) -> UUID | None:
        known = self._rounds.by_call.get(call_id)
        expected = sorted(known.expected) if known else []
        return next((a for a in expected if a not in self.candidates_by_id and a not in self.excluded_because),
                    None)

    async def call_of(self, application_id: UUID) -> UUID | None:
        if (found := self.candidates_by_id.get(application_id)) is not None:
            return found.call_id
        return next((r.call_id for r in self._rounds.by_call.values()
                     if r.status == "pending" and application_id in r.expected), None)

    async def remove(self, *application_ids: UUID) -> bool:
        removed = [line.pop(a, None) for a in application_ids
                   for line in (self.waitlisted, self.candidates_by_id)]
        return any(r is not None for r in removed)

    async def exclude(self, application_id: UUID, reason: str, at: datetime) -> None:
        self.excluded_because.setdefault(application_id, reason)
        await self.remove(application_id)

    async def excluded(self, application_ids: Iterable[UUID]) -> set[UUID]:
        return {a for a in application_ids if a in self.excluded_because}

    async def settled(self, application_id: UUID) -> bool:
        return application_id in self.excluded_because or any(
            a.status is not Status.LAPSED for a in self._allocations.of(application_id))


class InMemoryOffers:
    def __init__(self, allocations: InMemoryAllocations) -> None:
        self._allocations = allocations
        self.by_id: dict[UUID, Offer] = {}

    def __getitem__(self, offer_id: UUID) -> Offer:
        return self.by_id[offer_id]

    def of(self, application_id: UUID) -> list[Offer]:
        return [o for o in self.by_id.values() if o.application_id == application_id]

    async def add(self, item: Offer) -> None:
        if item.allocation_id not in self._allocations.by_id:
            raise ConstraintViolated(f"no allocation {item.allocation_id} holds the offer's GPUs")
        self.by_id[item.id] = replace(item)

    async def get(self, offer_id: UUID, *, for_update: bool = False) -> Offer | None:
        found = self.by_id.get(offer_id)
        return replace(found) if found else None

    async def pending_for(self, application_id: UUID) -> Offer | None:
        return next((replace(o) for o in self.of(application_id) if o.state in PENDING), None)

    async def expired(self, now: datetime, limit: int = 100) -> list[Offer]:
        found = [o for o in self.by_id.values()
                 if o.state is OfferState.OPEN and o.expires_at is not None and o.expires_at < now]
        return [replace(o) for o in sorted(found, key=lambda o: o.expires_at or now)[:limit]]

    async def unanswered_rechecks(self, asked_before: datetime, limit: int = 100) -> list[Offer]:
        found = [o for o in self.by_id.values()
                 if o.state is OfferState.AWAITING_RECHECK and o.requested_at < asked_before]
        return [replace(o) for o in sorted(found, key=lambda o: o.requested_at)[:limit]]

    def awaiting_award(self) -> list[Offer]:
        """The awards of selected round applications whose re-check has not been answered, oldest first."""
        return sorted((o for o in self.by_id.values()
                       if o.kind is OfferKind.AWARD and o.state is OfferState.AWAITING_RECHECK),
                      key=lambda o: (o.requested_at, str(o.application_id)))

    async def save(self, item: Offer) -> None:
        self.by_id[item.id] = replace(self.by_id[item.id], state=item.state, made_at=item.made_at,
                                      expires_at=item.expires_at, answered_at=item.answered_at)


class FakeAllocationUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__()
        self.allocations = InMemoryAllocations()
        self.inventory = InMemoryInventory(self.allocations)
        self.rounds = InMemoryRounds()
        self.waiting = InMemoryWaitingLines(self.rounds, self.allocations)
        self.offers = InMemoryOffers(self.allocations)


def _fits(uow: FakeAllocationUnitOfWork) -> AllocationUnitOfWork:
    return uow  # mypy proves here that the fake meets the service layer's port


def allocation_bus(uow: FakeAllocationUnitOfWork, clock: Clock, policy: Policy | None = None) -> MessageBus:
    return fake_bus(uow, HANDLERS, clock=clock, policy=policy or Policy())


async def confirm_awards(uow: FakeAllocationUnitOfWork, bus: MessageBus, clock: Clock) -> int:
    """Evaluation's answer to every award re-check still awaited: eligible. Returns how many it confirmed."""
    awaiting = uow.offers.awaiting_award()
    for offer in awaiting:
        await bus.handle(ConfirmEligibility(offer.application_id, offer.id, clock()))
    return len(awaiting)


def servers(pool: ProgramCode, count: int, *, gpu_model: str = "H100", gpus: int = 8, prefix: str = "",
            available_from: date | None = None, available_until: date | None = None,
            with_uuids: bool = False) -> tuple[RegisterServer, ...]:
    """`count` servers of the pool on the CSP "gamma-cloud", named <prefix or pool>-01, -02...; `with_uuids`: with
    the UUIDs of their GPUs (gpu_uuids)."""
    return tuple(RegisterServer(csp="gamma-cloud", name=f"{prefix or pool.lower()}-{i:02d}", region="Daejeon",
                                gpu_model=gpu_model, gpus=gpus, pool=pool, available_from=available_from,
                                available_until=available_until,
                                gpu_uuids=gpu_uuids(f"{prefix or pool.lower()}-{i:02d}", gpus) if with_uuids else ())
                 for i in range(1, count + 1))


def gpu_uuids(server_name: str, gpus: int = 8) -> tuple[str, ...]:
    """UUIDs for the GPUs of a server, one set per name, as nvidia-smi writes them."""
    tag = hashlib.sha256(server_name.encode()).hexdigest()[:8]
    return tuple(f"GPU-{tag}-1b2f-4c3d-9e8f-{i:012x}" for i in range(gpus))


async def seeded(clock: Clock, *specs: RegisterServer,
                 policy: Policy | None = None) -> tuple[FakeAllocationUnitOfWork, MessageBus]:
    """A fake holding the servers (4 x 8 H100 GPUs in P3 if none are given), and the bus on it; the CSP's
    registration it announced is not counted among what the test's own commands publish."""
    uow = FakeAllocationUnitOfWork()
    bus = allocation_bus(uow, clock, policy)
    await bus.handle(SeedInventory(csps=("gamma-cloud",), servers=specs or servers("P3", 4)))
    uow.published.clear()
    return uow, bus


def request(gpus: int, *, score: float = 80.0, start: date = date(2027, 1, 1), end: date = date(2027, 3, 31),
            months: int | None = None, gpu_model: str = "H100") -> AllocateGpus:
    """A scored P3 application (the first quarter of 2027 unless told)."""
    return AllocateGpus(application_id=uuid4(), program="P3", score=score, gpus=gpus, gpu_model=gpu_model,
                        period_start=start, period_end=end, planned_gpu_hours_per_month=1500,
                        acceptable_window_months=months)
