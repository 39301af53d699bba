"""What the remote-write door answers: how every sample of the request was counted (Prometheus reads none of it)."""
from __future__ import annotations

from pydantic import BaseModel, Field


class RemoteWriteOut(BaseModel):
    """Each sample of the request is counted once, in `accepted`, `duplicates`, `ignored`, `unmapped`,
    `refused_future` or `refused_other_csp`; `unheld` is a part of `accepted`."""

    received: int = Field(description="Samples in the request: float samples and native histogram samples.")
    accepted: int = Field(description="Samples stored by this request.")
    duplicates: int = Field(description="Samples stored already (one per GPU and instant), ignored.")
    unheld: int = Field(description="Of the accepted, those no tracked allocation held: stored, counted for nobody.")
    ignored: int = Field(description="Other metrics than the DCGM utilization, histograms, stale markers and other "
                                     "non-finite values, values out of range, and a GPU's "
                                     "DCGM_FI_PROF_GR_ENGINE_ACTIVE where DCGM_FI_DEV_GPU_UTIL was sent too.")
    unmapped: int = Field(description="Utilization samples of series without a `Hostname`, or without a `gpu` "
                                      "index 0-1023: not stored.")
    refused_future: int = Field(description="Samples dated after the server's clock and its allowed skew: not "
                                            "stored.")
    refused_other_csp: int = Field(description="Samples on servers tracked as another CSP's: not stored.")
    allocations_evaluated: int = Field(description="Allocations whose utilization this request re-evaluated.")
