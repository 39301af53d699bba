"""Which applications of a closed P1/P2 round get GPUs: a score-weighted 0/1 knapsack solved in lexicographic stages.

Stages: the reserve track alone, up to its reserved GPUs — the most reserved GPUs its requests can use, then the best
score among those fillings (`reserve_objective="fill"`, the seed's "reserved first"; "score" is the older reading, the
most score x GPUs within the reserve); then everyone left on the GPUs left, under the institution cap, except the GPUs
of the reserve's unused part that reserve-track requests kept out only by the cap could use; once the cap is lifted,
those go to them first; then, for GPUs the cap alone kept from waiting applicants, everyone left without the cap. Each
stage is solved exactly by HiGHS (`scipy.optimize.milp`) or greedily in rank order (score desc, submitted_order,
application id).

Why HiGHS through SciPy rather than OR-Tools CP-SAT: a stage is a linear 0/1 program with a handful of side constraints
(a row per GPU model, one for the reserve, one per institution that could pass its cap), and its LP relaxation is tight
(within 0.002 % of the optimum on the 10,000-application bench rounds): the LP's reduced costs fix all but a few dozen
candidates and HiGHS proves the rest optimal at the root node, a whole round in a few hundred ms. HiGHS ships inside
the SciPy wheel; CP-SAT works over integers (our rank tie-break is fractional) and brings a ~20 MB ortools wheel with
protobuf, absl-py and pandas. HiGHS's presolve stays off: on 10,000 columns it alone took seconds.
"""
from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from uuid import UUID

import numpy as np

from allocation.domain import reasons
from allocation.domain.errors import InvalidInput
from allocation.domain.knapsack import Limits, exact, greedy
from allocation.domain.reasons import CAP_LIFTED, GRANTED, OPEN, RESERVE, RESERVE_CAP_LIFTED, RESERVED

METHODS = ("auto", "exact", "heuristic")
RESERVE_OBJECTIVES = ("fill", "score")


@dataclass(frozen=True)
class Candidate:
    """A scored application of the round; `gpus` is what it asked for, and a grant is all of it or nothing."""

    application_id: UUID
    score: float
    track: str
    institution: str
    gpu_model: str
    gpus: int
    submitted_order: int = 0

    @property
    def rank_key(self) -> tuple[float, int, int]:
        """Score desc (an invalid NaN last), submitted_order, then the id, whose integer orders as its string does."""
        return (-self.score if self.score == self.score else math.inf, self.submitted_order, self.application_id.int)


@dataclass(frozen=True)
class RoundRules:
    """How a program selects a round; p1() and p2() carry the PROGRAM_RULES defaults."""

    whole_servers: bool = False
    server_gpus: int = 8
    min_gpus: int = 1
    max_gpus: int | None = None
    reserve_track: str = "early_career"
    reserve_share: float = 0.0
    institution_cap_share: float | None = None
    reserve_objective: str = "fill"

    def __post_init__(self) -> None:
        if self.server_gpus < 1 or self.min_gpus < 1 or (self.max_gpus or self.min_gpus) < self.min_gpus:
            raise InvalidInput("rules", "server_gpus, min_gpus >= 1 and max_gpus >= min_gpus are needed")
        if not 0 <= self.reserve_share <= 1 or not 0 < (self.institution_cap_share or 1) <= 1:
            raise InvalidInput("rules", "reserve_share must be in 0..1 and institution_cap_share in (0, 1]")
        if self.reserve_objective not in RESERVE_OBJECTIVES:
            raise InvalidInput("reserve_objective", f"must be one of {', '.join(RESERVE_OBJECTIVES)}")

    @classmethod
    def p1(cls) -> RoundRules:
        return cls(min_gpus=1, max_gpus=16)

    @classmethod
    def p2(cls) -> RoundRules:
        return cls(whole_servers=True, server_gpus=8, reserve_share=0.30, institution_cap_share=0.10)

    def invalid_reason(self, candidate: Candidate) -> str | None:
        gpus = candidate.gpus
        if not math.isfinite(candidate.score) or candidate.score < 0:
            return f"score {candidate.score} is not a number of points >= 0"
        if self.whole_servers and (gpus < 1 or gpus % self.server_gpus):
            return f"{gpus} GPUs is not a whole number of {self.server_gpus}-GPU servers"
        if gpus < self.min_gpus or gpus > (self.max_gpus or gpus):
            allowed = f"{self.min_gpus}..{self.max_gpus}" if self.max_gpus else f"at least {self.min_gpus}"
            return f"{gpus} GPUs is outside the {allowed} GPUs allowed"
        return None

    def reserve_gpus(self, total_gpus: int) -> int:
        """R: the reserved share of the round's GPUs, rounded down (to whole servers where grants are servers)."""
        return self._whole(math.floor(self.reserve_share * total_gpus + 1e-9))

    def institution_cap(self, total_gpus: int) -> int | None:
        """C: the capped share, but never below one largest allowed grant (P1: 16 GPUs; P2: one server)."""
        if self.institution_cap_share is None:
            return None
        one_grant = self.max_gpus or (self.server_gpus if self.whole_servers else self.min_gpus)
        return max(self._whole(math.floor(self.institution_cap_share * total_gpus + 1e-9)), one_grant)

    def _whole(self, gpus: int) -> int:
        return gpus - gpus % self.server_gpus if self.whole_servers else gpus


@dataclass(frozen=True)
class Decision:
    application_id: UUID
    selected: bool
    rank: int
    basis: str
    reason: str


@dataclass(frozen=True)
class Selection:
    decisions: tuple[Decision, ...]
    method: str
    objective: float
    gpus_awarded: int
    reserve_gpus: int
    reserve_gpus_used: int
    solve_seconds: float

    @property
    def selected(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if d.selected)

    @property
    def waitlisted(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if not d.selected)


@dataclass
class _Solver:
    """Solves each stage by the chosen method; `proven` turns False once a stage's optimum is not proven."""

    exact: bool
    deadline: float
    proven: bool = True

    def __call__(self, pool: Sequence[Candidate], limits: Limits, fill_first: bool = False) -> np.ndarray:
        if not self.exact:
            return greedy(pool, limits)
        taken, proven = exact(pool, limits, self.deadline - time.perf_counter(), fill_first=fill_first)
        self.proven = self.proven and proven
        return taken


@dataclass
class _Round:
    """The stages over the candidates in rank order: each one's basis, and what each stage started from."""

    ranked: Sequence[Candidate]
    basis: list[str | None]                                    # "invalid" before the stages, None while waiting
    capacity: Mapping[str, int]
    reserved: int
    cap: int | None
    held: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    held_back: dict[str, int] = field(default_factory=dict)    # the reserve's unused GPUs kept through open competition
    lift_left: dict[str, int] = field(default_factory=dict)    # what the cap-lifted stage started from

    def run(self, rules: RoundRules, solve: _Solver) -> None:
        left = dict(self.capacity)
        track = rules.reserve_track
        fill = rules.reserve_objective == "fill"
        if self.reserved:
            self._stage(solve, RESERVE, left, self._of(track), Limits(left, self.reserved, self.cap), fill)
        unused = self.reserved - self.used(RESERVED)
        capped_out = self._capped_out(track)
        if unused and self.cap is not None:
            plan = self._pick(solve, capped_out.__contains__, Limits(dict(left), unused), fill)
            for j in plan:
                self.held_back[self.ranked[j].gpu_model] = self.held_back.get(self.ranked[j].gpu_model, 0) + \
                    self.ranked[j].gpus
        open_left = {m: n - self.held_back.get(m, 0) for m, n in left.items()}
        self._stage(solve, OPEN, open_left, lambda c: True, Limits(open_left, None, self.cap))
        if self.cap is None:                                   # the cap binds only while others wait
            return
        if self.held_back:
            kept = dict(self.held_back)
            self._stage(solve, RESERVE_CAP_LIFTED, kept, capped_out.__contains__, Limits(kept, unused), fill)
            open_left = {m: n + kept.get(m, 0) for m, n in open_left.items()}
        self.lift_left = dict(open_left)
        self._stage(solve, CAP_LIFTED, open_left, lambda c: True, Limits(open_left))

    def used(self, bases: tuple[str, ...]) -> int:
        return sum(c.gpus for c, b in zip(self.ranked, self.basis, strict=True) if b in bases)

    @staticmethod
    def _of(track: str) -> Callable[[Candidate], bool]:
        return lambda c: c.track == track

    def _capped_out(self, track: str) -> set[Candidate]:
        """The reserve track's waiting requests that the cap alone keeps from what its institution already holds."""
        return {c for c, b in zip(self.ranked, self.basis, strict=True)
                if b is None and c.track == track and self.cap is not None
                and self.held[c.institution] + c.gpus > self.cap}

    def _pick(self, solve: _Solver, eligible: Callable[[Candidate], bool], limits: Limits,
              fill: bool = False) -> list[int]:
        js = [j for j, c in enumerate(self.ranked) if self.basis[j] is None and eligible(c)]
        return [int(j) for j in np.asarray(js, dtype=int)[solve([self.ranked[j] for j in js], limits, fill)]]

    def _stage(self, solve: _Solver, basis: str, left: dict[str, int], eligible: Callable[[Candidate], bool],
               limits: Limits, fill: bool = False) -> None:
        for j in self._pick(solve, eligible, replace(limits, left=dict(left), held=dict(self.held)), fill):
            c = self.ranked[j]
            self.basis[j] = basis
            left[c.gpu_model] -= c.gpus
            self.held[c.institution] += c.gpus if basis in (RESERVE, OPEN) else 0


def select_round(candidates: Sequence[Candidate], capacity: Mapping[str, int], rules: RoundRules, *,
                 method: str = "auto", exact_limit: int = 20_000, time_limit_s: float = 30.0) -> Selection:
    """Choose a closed round's grants; the same candidates in any input order give the same selection."""
    started = time.perf_counter()
    _check(candidates, capacity, rules, method)
    ranked = sorted(candidates, key=lambda c: c.rank_key)
    invalid = {j: reason for j, c in enumerate(ranked) if (reason := rules.invalid_reason(c)) is not None}
    total = sum(capacity.values())
    solve = _Solver(method == "exact" or (method == "auto" and len(ranked) <= exact_limit), started + time_limit_s)
    outcome = _Round(ranked, ["invalid" if j in invalid else None for j in range(len(ranked))], capacity,
                     rules.reserve_gpus(total), rules.institution_cap(total))
    outcome.run(rules, solve)
    chosen = [c for c, b in zip(ranked, outcome.basis, strict=True) if b in GRANTED]
    return Selection(
        decisions=_decisions(outcome, invalid, rules.reserve_track),
        method="exact" if solve.exact and solve.proven else "heuristic",
        objective=float(sum(c.score * c.gpus for c in chosen)), gpus_awarded=sum(c.gpus for c in chosen),
        reserve_gpus=outcome.reserved,
        reserve_gpus_used=outcome.used(RESERVED),
        solve_seconds=time.perf_counter() - started)


def _check(candidates: Sequence[Candidate], capacity: Mapping[str, int], rules: RoundRules, method: str) -> None:
    if method not in METHODS:
        raise InvalidInput("method", f"must be one of {', '.join(METHODS)}")
    if len({c.application_id for c in candidates}) != len(candidates):
        raise InvalidInput("candidates", "an application can be a candidate only once")
    for model, gpus in capacity.items():
        if gpus < 0 or (rules.whole_servers and gpus % rules.server_gpus):
            raise InvalidInput("capacity", f"{model}: {gpus} GPUs is not a whole number of free servers or GPUs")


def _decisions(outcome: _Round, invalid: Mapping[int, str], track: str) -> tuple[Decision, ...]:
    basis = outcome.basis
    explained = reasons.explain(outcome.ranked, basis, invalid, track, reasons.Stages(
        capacity=outcome.capacity, reserved=outcome.reserved, cap=outcome.cap, held=outcome.held,
        held_back=outcome.held_back, lift_left=outcome.lift_left))
    order = sorted(range(len(outcome.ranked)), key=lambda j: basis[j] not in GRANTED)  # stable: rank order within
    return tuple(Decision(outcome.ranked[j].application_id, basis[j] in GRANTED, rank, *explained[j])
                 for rank, j in enumerate(order, start=1))
