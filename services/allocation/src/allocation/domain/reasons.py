"""Why each candidate of a selected round got GPUs or waits, in words with the numbers: judged by what precedes it —
the reserve (and the GPUs kept for it), which goes first by rule, then every higher-ranked grant of the stage it
competed in. Greedy selections therefore never read "score"."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from allocation.domain.selection import Candidate

RESERVE, OPEN, RESERVE_CAP_LIFTED, CAP_LIFTED = "reserve", "open", "reserve_cap_lifted", "cap_lifted"
GRANTED = (RESERVE, OPEN, RESERVE_CAP_LIFTED, CAP_LIFTED)
RESERVED = (RESERVE, RESERVE_CAP_LIFTED)


@dataclass(frozen=True)
class Stages:
    """What the stages started from and ended with: the round's GPUs per model, the reserved GPUs, the cap, what
    institutions held under it, the reserve's unused GPUs kept through open competition, the cap-lifted stage's GPUs."""

    capacity: Mapping[str, int]
    reserved: int
    cap: int | None
    held: Mapping[str, int]
    held_back: Mapping[str, int]
    lift_left: Mapping[str, int]


def explain(ranked: Sequence[Candidate], basis: Sequence[str | None], invalid: Mapping[int, str], track: str,
            stages: Stages) -> list[tuple[str, str]]:
    """(basis, reason) of each candidate, in rank order."""
    lowest = {c.gpu_model: c.score for c, b in zip(ranked, basis, strict=True) if b in GRANTED}  # the last is lowest
    reserve_stage = sum(c.gpus for c, b in zip(ranked, basis, strict=True) if b == RESERVE)
    ahead = _Ahead.of(ranked, basis, stages)
    explained = []
    for j, (c, b) in enumerate(zip(ranked, basis, strict=True)):
        if b == "invalid":
            explained.append(("invalid", f"invalid: {invalid[j]}"))
        elif b is None:
            explained.append(_waitlisted(c, ahead, stages, lowest.get(c.gpu_model)))
        else:
            explained.append((b, _granted(c, b, stages, ahead.reserve_granted, reserve_stage, track)))
        ahead.passed(c, b)
    return explained


@dataclass
class _Ahead:
    """What a candidate finds in front of it, walking the ranking: the GPUs left in open competition (after the
    reserve and what was kept for it) and at the cap's lifting (after the reserve's share of it), what its
    institution holds under the cap, and the reserved GPUs granted so far."""

    open_left: dict[str, int]
    lift_left: dict[str, int]
    held: defaultdict[str, int]
    reserve_granted: int

    @classmethod
    def of(cls, ranked: Sequence[Candidate], basis: Sequence[str | None], stages: Stages) -> _Ahead:
        open_left, held = dict(stages.capacity), defaultdict[str, int](int)
        for m, gpus in stages.held_back.items():
            open_left[m] -= gpus
        for c, b in zip(ranked, basis, strict=True):
            if b == RESERVE:
                open_left[c.gpu_model] -= c.gpus
                held[c.institution] += c.gpus
        return cls(open_left, dict(stages.lift_left), held, 0)

    def passed(self, c: Candidate, basis: str | None) -> None:
        if basis == OPEN:
            self.open_left[c.gpu_model] -= c.gpus
            self.held[c.institution] += c.gpus
        elif basis == CAP_LIFTED:
            self.lift_left[c.gpu_model] -= c.gpus
        elif basis == RESERVE:
            self.reserve_granted += c.gpus


def _granted(c: Candidate, basis: str, stages: Stages, reserve_granted: int, reserve_stage: int, track: str) -> str:
    grant, name = f"{c.gpus} {c.gpu_model} GPUs at score {c.score:.2f}", track.replace("_", "-")
    if basis == RESERVE:
        return f"{name} reserve: {reserve_granted + c.gpus} of {stages.reserved} reserved GPUs, {grant}"
    held = f"{c.institution} holds {stages.held.get(c.institution, 0)} of its {stages.cap}-GPU cap"
    if basis == RESERVE_CAP_LIFTED:
        return (f"{name} reserve, institution cap lifted: {grant}; {held}, and the {stages.reserved - reserve_stage} "
                f"reserved GPUs the reserve stage left unused go to {name} requests first")
    if basis == OPEN:
        return f"open competition: {grant}" + (f"; {held}" if stages.cap is not None else "")
    return (f"institution cap lifted: {grant}; {held}, but no other waiting applicant fitted the "
            f"{stages.lift_left.get(c.gpu_model, 0)} {c.gpu_model} GPUs left")


def _waitlisted(c: Candidate, ahead: _Ahead, stages: Stages, lowest: float | None) -> tuple[str, str]:
    """Capacity when what precedes it took the GPUs; the cap when GPUs were there but its institution held its share
    (and what the cap's lifting left); else score: a combination of lower-ranked requests was worth more."""
    after = "the reserve and higher-ranked selections" if stages.reserved else "higher-ranked selections"
    left, held = ahead.open_left.get(c.gpu_model, 0), ahead.held[c.institution]
    if c.gpus > left:
        return "capacity", f"capacity: {left} {c.gpu_model} GPUs left after {after}, {c.gpus} requested; " \
                           f"score {c.score:.2f}"
    if stages.cap is not None and held + c.gpus > stages.cap:
        start, lift, model = stages.lift_left.get(c.gpu_model, 0), ahead.lift_left.get(c.gpu_model, 0), c.gpu_model
        then = (f"no {model} GPUs were left to lift the cap for" if start <= 0 else
                f"the cap was lifted for the {start} {model} GPUs left, and higher-ranked requests left {lift} of "
                f"them, too few" if c.gpus > lift else
                f"the cap was lifted for the {start} {model} GPUs left, and a combination worth more took them")
        return "institution_cap", (f"institution cap: {c.institution} already holds {held} of its {stages.cap} "
                                   f"GPUs, {c.gpus} more requested; {then}; score {c.score:.2f}")
    low = "none" if lowest is None else f"{lowest:.2f}"
    return "score", (f"score: {c.gpus} {c.gpu_model} GPUs would fit the {left} left after {after}, but a combination "
                     f"worth more was chosen; score {c.score:.2f}, lowest selected {c.gpu_model} score {low}")
