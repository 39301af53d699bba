"""A Prometheus remote-write 1.0 request, read: its headers checked, its snappy block's declared size checked before
it is decompressed, and its `prometheus.WriteRequest` decoded into the domain's series.

Every refusal names its reason: 415 for another content type (remote-write 2.0's among them, so that a 2.0 sender
falls back to 1.0), 400 for another encoding or version, a body that is not a snappy block or not a WriteRequest,
413 past a bound (the compressed body, the size its snappy block declares, the samples it holds).
"""
from __future__ import annotations

from collections.abc import Mapping

import cramjam
from fastapi import Request
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]  # protobuf ships no type information

from servicekit.limits import BodyTooLarge
from telemetry.domain.dcgm import Series
from telemetry.domain.errors import BatchTooLarge, MalformedBatch, UnsupportedMediaType
from telemetry.entrypoints.prompb import WriteRequest

PROTOBUF = "application/x-protobuf"
MESSAGE = "prometheus.WriteRequest"
ENCODING = "snappy"
VERSION_HEADER = "X-Prometheus-Remote-Write-Version"
VERSION = "0.1.0"
MAX_SNAPPY_LENGTH_BYTES = 5  # the block's preamble: its uncompressed length, a varint of at most 32 bits


async def read_series(request: Request, *, max_bytes: int, max_decoded_bytes: int, max_samples: int) -> list[Series]:
    """The series of a remote-write request, its headers checked before a byte of its body is read."""
    check_headers(request.headers)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(max_bytes)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise BodyTooLarge(max_bytes)
    return decode(bytes(body), max_decoded_bytes=max_decoded_bytes, max_samples=max_samples)


def check_headers(headers: Mapping[str, str]) -> None:
    """The request's headers, by their lower-case names (as Starlette's, whatever the case they were sent in)."""
    media_type, *params = [part.strip() for part in headers.get("content-type", "").split(";")]
    if media_type.lower() != PROTOBUF:
        raise UnsupportedMediaType(f"send a remote-write request as {PROTOBUF} ({MESSAGE}, snappy-compressed)")
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "proto" and value.strip().strip('"') != MESSAGE:
            raise UnsupportedMediaType(f"only remote-write 1.0's {MESSAGE} is taken, not {value.strip()}")
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding != ENCODING:
        raise MalformedBatch("content-encoding", f"a remote-write body is {ENCODING}-compressed (block format); "
                                                 f"got {encoding or 'no Content-Encoding'}")
    version = headers.get(VERSION_HEADER.lower())
    if version is not None and not version.strip().startswith("0.1."):
        raise MalformedBatch(VERSION_HEADER, f"remote-write {VERSION} is taken, not {version.strip()[:40]}")


def decode(body: bytes, *, max_decoded_bytes: int, max_samples: int) -> list[Series]:
    """The series of a snappy-compressed WriteRequest; 413 past either bound, 400 naming what is wrong."""
    declared = snappy_length(body)
    if declared > max_decoded_bytes:
        raise BatchTooLarge(f"the snappy block declares {declared} bytes uncompressed; a remote-write request "
                            f"may hold at most {max_decoded_bytes}: send fewer samples per request")
    try:
        raw = cramjam.snappy.decompress_raw(body)
    except cramjam.DecompressionError as exc:
        raise MalformedBatch("body", f"not a snappy block: {exc}") from None
    try:
        request = WriteRequest.FromString(memoryview(raw))
    except DecodeError:
        raise MalformedBatch("body", f"not a {MESSAGE}: the protobuf could not be decoded") from None
    held = sum(len(ts.samples) + len(ts.histograms) for ts in request.timeseries)
    if held > max_samples:
        raise BatchTooLarge(f"{held} samples; a remote-write request may hold at most {max_samples}: "
                            f"lower queue_config.max_samples_per_send")
    return [Series(labels={label.name: label.value for label in ts.labels},
                   points=[(s.value, s.timestamp) for s in ts.samples], histograms=len(ts.histograms))
            for ts in request.timeseries]


def snappy_length(block: bytes) -> int:
    """The uncompressed length a snappy block declares: its leading varint, read before anything is decompressed."""
    length = 0
    for position, byte in enumerate(block[:MAX_SNAPPY_LENGTH_BYTES]):
        length |= (byte & 0x7F) << (7 * position)
        if not byte & 0x80:
            return length
    if not block:
        raise MalformedBatch("body", "empty: a remote-write body is a snappy block")
    raise MalformedBatch("body", "not a snappy block: its length preamble is not a varint of at most 32 bits")
