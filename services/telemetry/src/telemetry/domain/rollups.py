"""An hour of use, summed: what the rollups hold for an allocation or a GPU, and what a closed hour reports.

An hour closes once it can take no more samples (the policy's lateness after its end); its usage is then published
for billing, once, and its 95th percentile is read from the raw samples.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from telemetry.domain.model import SECONDS_PER_HOUR, Allocation

WATT_HOURS_PER_KWH = 1000


@dataclass(frozen=True)
class UsageSums:
    """Sums over some of an allocation's hours."""

    samples: int = 0
    utilization_pct_sum: float = 0.0
    in_use_samples: int = 0
    last_ts: datetime | None = None


@dataclass(frozen=True)
class HourUsage:
    """One hour of an allocation (or of a GPU, `gpus` 1): the sums of its samples and, once closed, its p95."""

    hour: datetime
    samples: int
    utilization_pct_sum: float
    memory_mib_sum: float
    memory_samples: int
    power_w_sum: float
    power_samples: int
    last_ts: datetime
    utilization_pct_p95: float | None
    closed: bool
    in_use_samples: int = 0

    @property
    def utilization_pct(self) -> float:
        return self.utilization_pct_sum / self.samples if self.samples else 0.0

    @property
    def memory_used_mib(self) -> float | None:
        return self.memory_mib_sum / self.memory_samples if self.memory_samples else None

    def reported_hours(self, sample_interval_s: int) -> float:
        """GPU-hours the samples stand for, one sample interval each."""
        return self.samples * sample_interval_s / SECONDS_PER_HOUR

    def energy_kwh(self, gpu_hours: float) -> float | None:
        """The mean power draw of the samples that carried it, over `gpu_hours`."""
        if not self.power_samples:
            return None
        mean_w = self.power_w_sum / self.power_samples
        return mean_w * gpu_hours / WATT_HOURS_PER_KWH


@dataclass(frozen=True)
class HourFigures:
    """An hour as the API and billing see it: reserved and busy GPU-hours, coverage and the rest."""

    hour: datetime
    reserved_gpu_hours: float
    busy_gpu_hours: float
    coverage: float
    utilization_pct: float
    utilization_pct_p95: float | None
    memory_used_mib: float | None
    energy_kwh: float | None
    samples: int
    closed: bool


def figures(usage: HourUsage, reserved_gpu_hours: float, sample_interval_s: int) -> HourFigures:
    """Busy GPU-hours are the mean utilization over the GPU-hours the samples cover (at most those reserved):
    missing samples are not counted as idle, and not counted as busy either. Energy is the mean power over the same
    GPU-hours (a CSP reporting more often than the sample interval does not draw more power)."""
    covered = min(reserved_gpu_hours, usage.reported_hours(sample_interval_s))
    coverage = covered / reserved_gpu_hours if reserved_gpu_hours > 0 else 0.0
    return HourFigures(hour=usage.hour, reserved_gpu_hours=reserved_gpu_hours,
                       busy_gpu_hours=usage.utilization_pct / 100 * covered, coverage=coverage,
                       utilization_pct=usage.utilization_pct, utilization_pct_p95=usage.utilization_pct_p95,
                       memory_used_mib=usage.memory_used_mib, energy_kwh=usage.energy_kwh(covered),
                       samples=usage.samples, closed=usage.closed)


def allocation_figures(allocation: Allocation, usage: HourUsage, sample_interval_s: int) -> HourFigures:
    end = usage.hour + timedelta(hours=1)
    return figures(usage, allocation.reserved_gpu_hours(usage.hour, end), sample_interval_s)


@dataclass(frozen=True)
class ClosedHour:
    """An allocation's hour, closed by this run: its usage is published now."""

    allocation_id: UUID
    usage: HourUsage


@dataclass(frozen=True)
class Freshness:
    """The newest sample of a CSP's server (of any of its GPUs)."""

    server_name: str
    gpus: int
    last_sample_at: datetime
