"""The 0/1 knapsack of one selection stage: which candidates, all or nothing, fit the GPUs left per model, a budget
and an institution cap, for the most score-weighted GPUs — or, lexicographically, for the most GPUs first and then the
most score-weighted GPUs among those fillings (`fill_first`, the early-career reserve's reading).

`exact` proves the optimum with HiGHS (`scipy.optimize.milp`) after an LP pass fixes most candidates by their reduced
costs; `greedy` takes candidates in the given (rank) order while they fit.
"""
from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from scipy.sparse import csr_array


class Item(Protocol):
    @property
    def score(self) -> float: ...
    @property
    def gpus(self) -> int: ...
    @property
    def gpu_model(self) -> str: ...
    @property
    def institution(self) -> str: ...


@dataclass(frozen=True)
class Limits:
    """What one stage may hand out: GPUs left per model, the reserve budget, and the cap over what institutions hold."""

    left: Mapping[str, int]
    budget: int | None = None
    cap: int | None = None
    held: Mapping[str, int] = field(default_factory=dict)
    floor: int = 0                                             # GPUs the selection must at least hand out

    def fits(self, c: Item) -> bool:
        budget = self.budget if self.budget is not None else c.gpus
        return (c.gpus <= min(self.left.get(c.gpu_model, 0), budget)
                and (self.cap is None or self.held.get(c.institution, 0) + c.gpus <= self.cap))


def greedy(pool: Sequence[Item], limits: Limits) -> np.ndarray:
    """Take each candidate, in the pool's order, that still fits."""
    taken = np.zeros(len(pool), dtype=bool)
    left, held, cap = dict(limits.left), dict(limits.held), limits.cap
    budget = limits.budget if limits.budget is not None else math.inf
    for j, c in enumerate(pool):
        if c.gpus <= left.get(c.gpu_model, 0) and c.gpus <= budget and (
                cap is None or held.get(c.institution, 0) + c.gpus <= cap):
            taken[j] = True
            left[c.gpu_model] -= c.gpus
            held[c.institution] = held.get(c.institution, 0) + c.gpus
            budget -= c.gpus
    return taken


def _rows(pool: Sequence[Item], limits: Limits) -> tuple[csr_array, np.ndarray]:
    """The constraints that can bind: a model, the budget or an institution whose demand exceeds what it may get."""
    # SciPy (~50 MB resident) is imported here, not at module import, so that processes which never select a round
    # stay small; the first exact selection in a process pays the import (1-2 s, within its time limit).
    from scipy.sparse import csr_array

    members: dict[tuple[str, str], list[int]] = defaultdict(list)
    bound: dict[tuple[str, str], int] = {}
    floor = limits.floor > 0
    for j, c in enumerate(pool):
        members["model", c.gpu_model].append(j)
        bound["model", c.gpu_model] = limits.left.get(c.gpu_model, 0)
        if limits.budget is not None:
            members["budget", ""].append(j)
            bound["budget", ""] = limits.budget
        if limits.cap is not None:
            members["institution", c.institution].append(j)
            bound["institution", c.institution] = limits.cap - limits.held.get(c.institution, 0)
    gpus = np.array([c.gpus for c in pool], dtype=float)
    binding = [key for key, js in members.items() if gpus[js].sum() > bound[key]]
    rows = [i for i, key in enumerate(binding) for _ in members[key]]
    cols = [j for key in binding for j in members[key]]
    values = list(gpus[cols])
    if floor:                                                  # -GPUs <= -floor
        rows += [len(binding)] * len(pool)
        cols += list(range(len(pool)))
        values += list(-gpus)
    matrix = csr_array((values, (rows, cols)), shape=(len(binding) + floor, len(pool)))
    return matrix, np.array([bound[key] for key in binding] + ([-limits.floor] if floor else []), dtype=float)


def _weights(pool: Sequence[Item], total_gpus: int) -> np.ndarray:
    """Score points x100 (integers) per GPU, plus a rank bonus per GPU summing to < 1 over any selection (it holds at
    most total_gpus): the bonus only decides between selections of equal value, in favour of the higher-ranked."""
    n = len(pool)
    return np.array([c.gpus * (round(c.score * 100) + (n - r) / (n * (total_gpus + 1))) for r, c in enumerate(pool)])


def exact(pool: Sequence[Item], limits: Limits, seconds: float, *,
          fill_first: bool = False) -> tuple[np.ndarray, bool]:
    """The stage's optimum by HiGHS (the pool in rank order); when time runs out, the best known and False.

    `fill_first`: first the most GPUs the pool can take within the limits, then the best score among the selections
    that take that many (a second program with that many GPUs as its floor, started from the first one's answer)."""
    deadline = time.perf_counter() + seconds
    taken = np.array([limits.fits(c) for c in pool], dtype=bool)
    fit = [c for c, fits in zip(pool, taken, strict=True) if fits]
    start: np.ndarray | None = None
    proven = True
    if fill_first:
        gpus = np.array([c.gpus for c in fit], dtype=float)
        start, proven = _optimum(fit, limits, gpus, None, deadline)
        limits = replace(limits, floor=int(gpus[start].sum()))
    found, proven_now = _optimum(fit, limits, _weights(fit, sum(limits.left.values())), start, deadline)
    taken[taken] = found
    return taken, proven and proven_now


def _optimum(pool: Sequence[Item], limits: Limits, w: np.ndarray, start: np.ndarray | None,
             deadline: float) -> tuple[np.ndarray, bool]:
    """The most `w` within the limits; `start`, when given, is a selection known to meet them."""
    a, ub = _rows(pool, limits)
    if a.shape[0] == 0:
        return np.ones(len(pool), dtype=bool), True            # all that fit alone fit together
    best, drop, keep = _lp_guided(pool, limits, a, ub, w, deadline - time.perf_counter(), start)
    found, proven = _branch_and_cut(a, ub, w, drop, keep, deadline - time.perf_counter())
    if found is None or np.any(a @ found.astype(float) > ub) or w[found].sum() < w[best].sum():
        found = best
    return found, proven


def _lp_guided(pool: Sequence[Item], limits: Limits, a: csr_array, ub: np.ndarray, w: np.ndarray, seconds: float,
               start: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The best feasible one of two greedy selections (rank order; the LP relaxation's whole grants first) and
    `start`, and reduced-cost fixing: which candidates every optimum leaves out (drop) or takes (keep).

    With the LP's duals y >= 0 and reduced costs d = w - A'y, any selection x is worth at most
    y.ub + sum(max(d, 0)), less |d_j| if x_j goes against the sign of d_j. Where that falls below the best known
    selection minus one unit of the integer objective (a margin for rounding), no optimum does it. The bound holds
    for any y >= 0, so an inexact LP can only make the fixing weaker, never wrong.
    """
    from scipy.optimize import linprog  # lazily, as in _rows (loaded by then)

    nothing = np.zeros(len(pool), dtype=bool)
    best = _best_feasible(a, ub, w, [greedy(pool, limits), start])
    # scipy-stubs types A_ub as a dense array; HiGHS takes the sparse one as it is (scipy's _clean_inputs keeps it)
    lp = linprog(-w, A_ub=a, b_ub=ub, bounds=(0, 1), method="highs",  # type: ignore[call-overload]
                 options={"presolve": False, "time_limit": seconds}) if seconds > 0 else None
    if lp is None or lp.status != 0:
        return best, nothing, nothing
    order = np.lexsort((np.arange(len(pool)), lp.x < 1 - 1e-9))
    rounded = np.zeros(len(pool), dtype=bool)
    rounded[order] = greedy([pool[j] for j in order], limits)
    best = _best_feasible(a, ub, w, [best, rounded])
    y = np.maximum(-lp.ineqlin.marginals, 0.0)
    d = w - a.T @ y
    bound, incumbent = float(y @ ub + np.maximum(d, 0.0).sum()), float(w[best].sum()) - 1
    return best, (d < 0) & (bound + d < incumbent), (d > 0) & (bound - d < incumbent)


def _best_feasible(a: csr_array, ub: np.ndarray, w: np.ndarray, picks: list[np.ndarray | None]) -> np.ndarray:
    """The selection worth most among those meeting every row (greedy ones can miss a floor); the first on a tie."""
    feasible = [x for x in picks if x is not None and not np.any(a @ x.astype(float) > ub + 1e-9)]
    return max(feasible, key=lambda x: w[x].sum()) if feasible else np.zeros(a.shape[1], dtype=bool)


def _branch_and_cut(a: csr_array, ub: np.ndarray, w: np.ndarray, drop: np.ndarray, keep: np.ndarray,
                    seconds: float) -> tuple[np.ndarray | None, bool]:
    from scipy.optimize import Bounds, LinearConstraint, milp  # lazily, as in _rows (loaded by then)

    free = np.flatnonzero(~(drop | keep))
    found = keep.copy()
    if len(free) == 0:
        return found, True
    if seconds <= 0:
        return None, False
    res = milp(-w[free], integrality=np.ones(len(free), dtype=np.int8), bounds=Bounds(0, 1),
               constraints=LinearConstraint(a[:, free], -np.inf, ub - a @ keep.astype(float)),
               options={"time_limit": seconds, "mip_rel_gap": 0, "presolve": False})
    if res.x is None:
        return None, False
    found[free] = res.x > 0.5
    return found, res.status == 0
