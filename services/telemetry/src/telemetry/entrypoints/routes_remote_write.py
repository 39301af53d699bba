"""The CSPs' second door for samples: Prometheus remote-write 1.0, with the DCGM exporter's metrics as they are.

Samples from here go through the same command and handler as the NDJSON door's; what differs is that a sample the
batch may not hold (dated in the future, on another CSP's server) is dropped and counted rather than refusing the
batch, since Prometheus drops a refused batch whole.
"""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from servicekit.auth import AUTH_RESPONSES, authenticated
from servicekit.http import PROBLEM_RESPONSES, Problem
from servicekit.limits import body_limit
from telemetry.config import REMOTE_WRITE_BYTES_CEILING
from telemetry.domain import dcgm
from telemetry.domain.commands import OnRefused, RecordSamples
from telemetry.domain.model import BatchReceipt
from telemetry.entrypoints.admission import ADMISSION_RESPONSES, ADMITTED
from telemetry.entrypoints.deps import Bus, CallingCsp, Now, Policy
from telemetry.entrypoints.metrics import count_receipt
from telemetry.entrypoints.remote_write import ENCODING, MESSAGE, PROTOBUF, VERSION, VERSION_HEADER, read_series
from telemetry.entrypoints.schemas_remote_write import RemoteWriteOut

router = APIRouter(responses={**PROBLEM_RESPONSES, **AUTH_RESPONSES}, dependencies=[Depends(authenticated)])
REMOTE_WRITE: dict[str, Any] = {
    "requestBody": {"required": True, "content": {PROTOBUF: {"schema": {
        "type": "string", "format": "binary",
        "description": f"A {MESSAGE} (Prometheus remote-write 1.0), snappy-compressed (block format)."}}}},
    "parameters": [
        {"name": "Content-Encoding", "in": "header", "required": True, "schema": {"type": "string",
                                                                                  "enum": [ENCODING]}},
        {"name": VERSION_HEADER, "in": "header", "required": False, "schema": {"type": "string",
                                                                               "example": VERSION}}],
}


@router.post("/api/v1/write", response_model=RemoteWriteOut, tags=["samples"],
             summary="Prometheus remote-write 1.0: the DCGM exporter's GPU utilization, as a CSP's Prometheus "
                     "sends it",
             # the ceiling; each app's own is TELEMETRY_POLICY__REMOTE_WRITE_MAX_BYTES (admission.py, read_series)
             openapi_extra={**REMOTE_WRITE, **body_limit(REMOTE_WRITE_BYTES_CEILING)}, dependencies=[ADMITTED],
             responses={400: {"model": Problem, "description": "Not snappy-encoded, another remote-write version, "
                                                              "or a body that is not a snappy block or not a "
                                                              f"{MESSAGE}: the reason named"},
                        403: {"model": Problem, "description": "Not a CSP"},
                        413: {"model": Problem, "description": "A body larger than the policy's cap, a snappy "
                                                              "block declaring more bytes uncompressed than it "
                                                              "takes, or more samples"},
                        415: {"model": Problem, "description": f"Not {PROTOBUF}, or another message than "
                                                              f"{MESSAGE} (remote-write 2.0)"},
                        **ADMISSION_RESPONSES})
async def remote_write(request: Request, csp: CallingCsp, bus: Bus, clock: Now, policy: Policy) -> RemoteWriteOut:
    """A CSP's Prometheus writes here (its `remote_write` block: docs/telemetry.md). The samples of
    `DCGM_FI_DEV_GPU_UTIL`, or of `DCGM_FI_PROF_GR_ENGINE_ACTIVE` times 100 where that is all a GPU sent, are stored
    all in one transaction under the server the CSP's host mapping names (by default the `Hostname` label itself)
    and the `gpu` label's index. Every sample is counted in the answer; those that cannot be stored are dropped
    and counted rather than the request refused, since Prometheus would drop a refused request whole."""
    series = await read_series(request, max_bytes=policy.remote_write_max_bytes,
                               max_decoded_bytes=policy.remote_write_max_decoded_bytes,
                               max_samples=policy.remote_write_max_samples)
    readings = dcgm.readings(series)
    receipt = BatchReceipt(accepted=0, duplicates=0, allocations_evaluated=0)
    if readings.samples:
        cmd = RecordSamples(readings.samples, csp_id=csp, received_at=clock(), on_refused=OnRefused.DROP_SAMPLES,
                            by_hostname=True, uuids=readings.uuids)
        receipt = await bus.handle(cmd)
    count_receipt(request.app, "remote_write", receipt, ignored=readings.ignored, unmapped=readings.unmapped)
    return RemoteWriteOut(received=readings.received, accepted=receipt.accepted, duplicates=receipt.duplicates,
                          unheld=receipt.unheld, ignored=readings.ignored, unmapped=readings.unmapped,
                          refused_future=receipt.refused_future, refused_other_csp=receipt.refused_other_csp,
                          refused_late=receipt.refused_late, merged=readings.merged,
                          allocations_evaluated=receipt.allocations_evaluated)
