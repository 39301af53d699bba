"""Allocation's policy: how rounds are selected, placed and awarded, and how long an offer stays open."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from allocation.domain.selection import RoundRules


@dataclass(frozen=True)
class Policy:
    rules: dict[str, RoundRules] = field(default_factory=lambda: {"P1": RoundRules.p1(), "P2": RoundRules.p2()})
    max_servers_per_grant: dict[str, int] = field(default_factory=lambda: {"P1": 2})
    exact_limit: int = 20_000
    time_limit_s: float = 60.0
    offer_ttl: timedelta = timedelta(hours=48)
    offer_answer_grace: timedelta = timedelta(minutes=5)
    recheck_timeout: timedelta = timedelta(hours=1)
    # a round's selected applications are held and re-checked by evaluation before they are allocated
    recheck_at_award: bool = True

    def round_rules(self, program: str) -> RoundRules:
        return self.rules.get(program, RoundRules())
