"""What the remote-write door answers: how every sample of the request was counted (Prometheus reads none of it)."""
from __future__ import annotations

from pydantic import BaseModel, Field


class RemoteWriteOut(BaseModel):
    """Each sample of the request is counted once, in `accepted`, `duplicates`, `ignored`, `unmapped`,
    `refused_future`, `refused_other_csp`, `refused_late` or `merged`; `unheld` is a part of `accepted`."""

    received: int = Field(description="Samples in the request: float samples and native histogram samples.")
    accepted: int = Field(description="Samples stored by this request.")
    duplicates: int = Field(description="Samples stored already (one per GPU and instant), ignored.")
    unheld: int = Field(description="Of the accepted, those no tracked allocation held: stored, counted for nobody.")
    ignored: int = Field(description="Other metrics than the DCGM ones read, histograms, stale markers and other "
                                     "non-finite values, values out of range, a GPU's "
                                     "DCGM_FI_PROF_GR_ENGINE_ACTIVE where DCGM_FI_DEV_GPU_UTIL was sent too, and "
                                     "memory or power without a utilization sample of the same GPU and instant.")
    unmapped: int = Field(description="Utilization samples of series without a `Hostname`, or without a `gpu` "
                                      "index 0-1023: not stored.")
    refused_future: int = Field(description="Samples dated after the server's clock and its allowed skew: not "
                                            "stored.")
    refused_other_csp: int = Field(description="Samples on servers tracked as another CSP's: not stored.")
    merged: int = Field(default=0, description="Memory (DCGM_FI_DEV_FB_USED) and power (DCGM_FI_DEV_POWER_USAGE) "
                                               "points that went with the utilization sample of their GPU and "
                                               "instant, whatever became of that sample.")
    refused_late: int = Field(description="Samples dated before the policy's lateness (their hour is closed): not "
                                          "stored.")
    allocations_evaluated: int = Field(description="Allocations whose utilization this request re-evaluated.")
