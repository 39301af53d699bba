"""Who holds which GPU when, in memory, for the fast tier: the inventory (CSPs, servers, windows) and the allocations
behind the service layer's ports (allocation.service.unit_of_work); fakes.py explains what they keep of the SQL ones."""
from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import replace
from datetime import datetime
from uuid import UUID

from allocation.domain.model import Allocation, Csp, ProgramCode, Server, Slot, Status
from allocation.domain.windows import Period, Window

Span = tuple[datetime | None, datetime | None]


class ConstraintViolated(Exception):
    """What PostgreSQL would refuse: a GPU or a server's time taken twice, a second live allocation, a missing key."""


def _empty(span: Span) -> bool:
    return span[0] is not None and span[1] is not None and span[0] >= span[1]


def overlaps(a: Span, b: Span) -> bool:
    if _empty(a) or _empty(b):
        return False
    return ((a[0] is None or b[1] is None or a[0] < b[1])
            and (b[0] is None or a[1] is None or b[0] < a[1]))


def covers(outer: Span, inner: Span) -> bool:
    return ((outer[0] is None or (inner[0] is not None and outer[0] <= inner[0]))
            and (outer[1] is None or (inner[1] is not None and inner[1] <= outer[1])))


def held_during(item: Allocation) -> Span:
    """The time the allocation's GPUs are taken, as the SQL `save` leaves `allocation_gpu.during`."""
    return item.starts_at, item.ended_at if item.ended_at is not None else item.ends_at


def _copy(item: Allocation) -> Allocation:
    return replace(item, slots=list(item.slots))


class InMemoryAllocations:
    def __init__(self) -> None:
        self.by_id: dict[UUID, Allocation] = {}

    def __getitem__(self, allocation_id: UUID) -> Allocation:
        return self.by_id[allocation_id]

    def of(self, application_id: UUID) -> list[Allocation]:
        return [a for a in self.by_id.values() if a.application_id == application_id]

    def with_status(self, status: Status) -> list[Allocation]:
        return [a for a in self.by_id.values() if a.status is status]

    def gpus_held(self) -> Iterator[tuple[UUID, Slot, Span]]:
        for item in self.by_id.values():
            for slot in item.slots:
                yield item.id, slot, held_during(item)

    async def add(self, *items: Allocation) -> None:
        for item in items:
            if any(a.status is not Status.LAPSED for a in self.of(item.application_id)):
                raise ConstraintViolated(f"application {item.application_id} holds an allocation already")
            for _, slot, span in self.gpus_held():
                if slot in item.slots and overlaps(span, held_during(item)):
                    raise ConstraintViolated(f"GPU {slot.server_name}#{slot.gpu_index} is taken then")
            self.by_id[item.id] = _copy(item)

    async def get(self, allocation_id: UUID, *, for_update: bool = False) -> Allocation | None:
        found = self.by_id.get(allocation_id)
        return _copy(found) if found else None

    async def for_application(self, application_id: UUID, *, for_update: bool = False) -> Allocation | None:
        found = [a for a in self.of(application_id) if a.status is not Status.LAPSED]
        return _copy(found[0]) if found else None

    async def save(self, item: Allocation) -> None:
        self.by_id[item.id] = replace(self.by_id[item.id], status=item.status, ended_at=item.ended_at,
                                      end_reason=item.end_reason, warned_at=item.warned_at, waived_at=item.waived_at)


class InMemoryInventory:
    def __init__(self, allocations: InMemoryAllocations) -> None:
        self._allocations = allocations
        self.csps: dict[str, Csp] = {}
        self.servers: dict[UUID, Server] = {}
        self.windows_by_id: dict[UUID, Window] = {}

    def server_named(self, name: str) -> Server:
        return next(s for s in self.servers.values() if s.name == name)

    def windows_of(self, server_name: str) -> list[Window]:
        server = self.server_named(server_name)
        return [w for w in self.windows_by_id.values() if w.server_id == server.id]

    async def add_csp(self, item: Csp) -> bool:
        if item.name in self.csps:
            return False
        self.csps[item.name] = item
        return True

    async def csp_named(self, name: str) -> Csp | None:
        return self.csps.get(name)

    async def every_csp(self) -> list[Csp]:
        return sorted(self.csps.values(), key=lambda c: c.name)

    async def add_server(self, item: Server) -> bool:
        if any(s.name == item.name for s in self.servers.values()):
            return False
        self.servers[item.id] = replace(item, gpu_uuids=())  # set_gpu_uuids stores them
        return True

    async def server(self, server_id: UUID) -> Server | None:
        return self.servers.get(server_id)

    async def gpu_uuid_holders(self, gpu_uuids: Collection[str]) -> dict[str, str]:
        return {u: s.name for s in self.servers.values() for u in s.gpu_uuids if u in gpu_uuids}

    async def set_gpu_uuids(self, server_id: UUID, gpu_uuids: tuple[str, ...]) -> bool:
        if any(set(s.gpu_uuids) & set(gpu_uuids) for s in self.servers.values() if s.id != server_id):
            return False
        self.servers[server_id] = replace(self.servers[server_id], gpu_uuids=gpu_uuids)
        return True

    async def add_window(self, window: Window) -> None:
        self._refuse_overlap(window)
        self.windows_by_id[window.id] = window

    async def window(self, window_id: UUID) -> Window | None:
        return self.windows_by_id.get(window_id)

    async def set_window_end(self, window: Window) -> None:
        self._refuse_overlap(window)
        self.windows_by_id[window.id] = replace(self.windows_by_id[window.id], ends_at=window.ends_at)

    def _refuse_overlap(self, window: Window) -> None:
        if any(w.server_id == window.server_id and w.id != window.id
               and overlaps((w.starts_at, w.ends_at), (window.starts_at, window.ends_at))
               for w in self.windows_by_id.values()):
            raise ConstraintViolated(f"server {window.server_id} serves another pool then")

    async def holders(self, server_id: UUID, during: Span) -> list[UUID]:
        found = [a for a, slot, span in self._allocations.gpus_held()
                 if slot.server_id == server_id and overlaps(span, during)]
        return list(dict.fromkeys(found))

    async def windows(self, *, window_id: UUID | None = None, server_id: UUID | None = None,
                      pool: ProgramCode | None = None, gpu_model: str | None = None,
                      overlapping: Span | None = None) -> list[Window]:
        found = [w for w in self.windows_by_id.values()
                 if window_id in (None, w.id) and server_id in (None, w.server_id) and pool in (None, w.pool)
                 and gpu_model in (None, self.servers[w.server_id].gpu_model)
                 and (overlapping is None or overlaps((w.starts_at, w.ends_at), overlapping))]
        return sorted(found, key=lambda w: (self.servers[w.server_id].name, w.starts_at is not None,
                                            w.starts_at or datetime.min))

    async def window_spans(self, pool: ProgramCode, gpu_model: str, overlapping: Span) -> list[Span]:
        found = await self.windows(pool=pool, gpu_model=gpu_model, overlapping=overlapping)
        return list(dict.fromkeys((w.starts_at, w.ends_at) for w in found))

    async def free_slots(self, pool: ProgramCode, gpu_model: str, period: Period, *,
                         whole_only: bool = False) -> list[list[Slot]]:
        serving = sorted((s for s in self.servers.values() if s.gpu_model == gpu_model and any(
            w.server_id == s.id and w.pool == pool and covers((w.starts_at, w.ends_at), period)
            for w in self.windows_by_id.values())), key=lambda s: s.name)
        found = []
        for server in serving:
            taken = {slot.gpu_index for _, slot, span in self._allocations.gpus_held()
                     if slot.server_id == server.id and overlaps(span, period)}
            if not (whole_only and taken) and (free := server.free_slots(taken)):
                found.append(free)
        return found
