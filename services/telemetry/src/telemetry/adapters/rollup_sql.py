"""The SQL the rollups share: the sums an hour keeps of its samples, and how a new batch's sums are added to them.

Every statement that writes `gpu_hour` or `allocation_hour` (a batch stored, an allocation tracked after its
samples) sums the same columns the same way, so they are written once here.
"""
from __future__ import annotations

# the hour's sums, in the order SUMS_OF lists their values (last_ts last)
SUMMED = ("samples", "utilization_pct_sum", "memory_mib_sum", "memory_samples", "power_w_sum", "power_samples")
COLUMNS = ", ".join((*SUMMED, "last_ts"))


def sums_of(row: str = "") -> str:
    """The SELECT list of SUMMED and last_ts over samples (`row` qualifies their columns, e.g. "s.")."""
    return (f"count(*), sum(CAST({row}utilization_pct AS double precision)), "
            f"coalesce(sum(CAST({row}memory_used_mib AS double precision)), 0), count({row}memory_used_mib), "
            f"coalesce(sum(CAST({row}power_w AS double precision)), 0), count({row}power_w), max({row}ts)")


def added(*more: str) -> str:
    """The ON CONFLICT … DO UPDATE SET list that adds a new row's sums (and `more`) to the stored hour `h`."""
    return ", ".join([*(f"{c} = h.{c} + excluded.{c}" for c in (*SUMMED, *more)),
                      "last_ts = greatest(h.last_ts, excluded.last_ts)"])
