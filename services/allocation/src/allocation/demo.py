"""The demo inventory `python -m allocation seed-demo` creates: three CSPs and the P1, P2 and P3 pools.

Plain data, so tests can register the same servers through the API.
"""
from __future__ import annotations

from allocation.domain.commands import RegisterServer, SeedInventory
from allocation.domain.model import ProgramCode

CSPS = ("alpha-cloud", "beta-cloud", "gamma-cloud")
GPUS_PER_SERVER = 8


def _pool(prefix: str, count: int, pool: ProgramCode, gpu_model: str, csps: tuple[str, ...],
          regions: tuple[str, ...]) -> tuple[RegisterServer, ...]:
    return tuple(RegisterServer(csp=csps[i % len(csps)], name=f"{prefix}-{i + 1:02d}",
                                region=regions[i % len(regions)], gpu_model=gpu_model,
                                gpus=GPUS_PER_SERVER, pool=pool)
                 for i in range(count))


P1_SERVERS = _pool("p1-ind", 8, "P1", "H100", CSPS[:2], ("Seoul", "Pangyo"))
P2_SERVERS = _pool("p2-res", 8, "P2", "H200", CSPS[1:], ("Daejeon", "Gwangju"))
P3_SERVERS = _pool("p3-gov", 4, "P3", "H100", CSPS[2:], ("Gwangju",))
SERVERS = P1_SERVERS + P2_SERVERS + P3_SERVERS
SEED = SeedInventory(csps=CSPS, servers=SERVERS)
