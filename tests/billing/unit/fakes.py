"""An append-only ledger in memory, kept the way `reconcile` expects the real one to be kept.

Each line gets the next integer id; a line is a charge (`direction` 1) or a reversal (-1), and a key stands while it
has been charged more often than reversed (`Posted`). Reconciling is per allocation: `posted` holds that
allocation's keys only.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from uuid import UUID

from billing.domain.ledger import Line, LineKey, PayerKind, Posted, Unbilled, reconcile


@dataclass(frozen=True)
class Entry:
    id: int
    line: Line


@dataclass
class InMemoryLedger:
    entries: list[Entry] = field(default_factory=list)
    billed: set[int] = field(default_factory=set)

    def posted(self, allocation_id: UUID | None = None) -> dict[LineKey, Posted]:
        """What the ledger holds per key, of one allocation or of all."""
        net: dict[LineKey, int] = defaultdict(int)
        charges: Counter[LineKey] = Counter()
        reversals: Counter[LineKey] = Counter()
        last: dict[LineKey, Line] = {}
        for entry in self.entries:
            key = entry.line.key
            if allocation_id is not None and key.allocation_id != allocation_id:
                continue
            net[key] += entry.line.amount_krw
            (charges if entry.line.direction > 0 else reversals)[key] += 1
            last[key] = entry.line
        return {key: Posted(last[key], net[key], charges[key] > reversals[key]) for key in net}

    def post(self, allocation_id: UUID, wanted: Iterable[Line]) -> list[Line]:
        """Reconcile one allocation's keys with what it owes now and append what reconcile returns; the new lines.
        Every line must keep the table's check: a charge is never negative, a reversal never positive."""
        new = reconcile(wanted, self.posted(allocation_id))
        for line in new:
            assert line.key.allocation_id == allocation_id
            assert line.direction in (1, -1) and line.amount_krw * line.direction >= 0, line
            self.entries.append(Entry(len(self.entries) + 1, line))
        return new

    def standing(self, allocation_id: UUID | None = None) -> dict[LineKey, int]:
        """The net of every standing key."""
        return {key: have.net_krw for key, have in self.posted(allocation_id).items() if have.standing}

    def nets(self, allocation_id: UUID | None = None) -> dict[LineKey, int]:
        """The net of every key the ledger has ever seen, standing or not."""
        return {key: have.net_krw for key, have in self.posted(allocation_id).items()}

    def unbilled(self) -> list[Unbilled]:
        return [Unbilled(e.id, e.line) for e in self.entries if e.id not in self.billed]

    def bill(self, ids: Iterable[int]) -> None:
        self.billed.update(ids)

    def payers_total(self) -> int:
        return sum(e.line.amount_krw for e in self.entries if e.line.payer.kind is not PayerKind.GOVERNMENT)
