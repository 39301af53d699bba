"""A remote-write request read without a server: the headers checked, the snappy block's declared size checked
before it is decompressed, the WriteRequest decoded into series; each refusal with its status and reason."""
from __future__ import annotations

import cramjam
import pytest

from telemetry.domain.dcgm import Series
from telemetry.domain.errors import BatchTooLarge, MalformedBatch, UnsupportedMediaType
from telemetry.entrypoints import prompb
from telemetry.entrypoints.remote_write import check_headers, decode, snappy_length

HEADERS = {"content-type": "application/x-protobuf", "content-encoding": "snappy",
           "x-prometheus-remote-write-version": "0.1.0"}
BIG = 2**30


def write_request(*series: tuple[dict[str, str], list[tuple[float, int]]], histograms: int = 0) -> bytes:
    """A WriteRequest, serialized: what Prometheus puts in a request before snappy."""
    request = prompb.WriteRequest()
    for labels, points in series:
        ts = request.timeseries.add()
        for name, value in sorted(labels.items()):
            ts.labels.add(name=name, value=value)
        for value, timestamp in points:
            ts.samples.add(value=value, timestamp=timestamp)
        for i in range(histograms):
            ts.histograms.add(count_int=3, sum=1.5, schema=0, timestamp=timestamp + i)
    request.metadata.add(type=2, metric_family_name="DCGM_FI_DEV_GPU_UTIL", help="GPU utilization (in %).")
    return request.SerializeToString()  # type: ignore[no-any-return]  # the runtime classes are untyped


def snappy(raw: bytes) -> bytes:
    return bytes(cramjam.snappy.compress_raw(raw))


UTIL = {"__name__": "DCGM_FI_DEV_GPU_UTIL", "Hostname": "dgx-01", "gpu": "0", "UUID": "GPU-1"}


def test_a_snappy_write_request_decodes_into_its_series() -> None:
    body = snappy(write_request((UTIL, [(12.5, 1_764_583_200_000), (13.0, 1_764_583_215_000)]),
                                ({**UTIL, "gpu": "1"}, [(99.0, 1_764_583_200_000)]), histograms=1))
    series = decode(body, max_decoded_bytes=BIG, max_samples=100)
    assert series == [Series(UTIL, [(12.5, 1_764_583_200_000), (13.0, 1_764_583_215_000)], histograms=1),
                      Series({**UTIL, "gpu": "1"}, [(99.0, 1_764_583_200_000)], histograms=1)]


def test_a_request_with_only_metadata_holds_no_series() -> None:
    assert decode(snappy(write_request()), max_decoded_bytes=BIG, max_samples=1) == []


def test_the_field_numbers_are_prometheus_own() -> None:
    numbers = {(m.name, f.name): f.number for m in (prompb.WriteRequest.DESCRIPTOR, prompb.TimeSeries.DESCRIPTOR,
                                                     prompb.Label.DESCRIPTOR, prompb.Sample.DESCRIPTOR)
               for f in m.fields}
    assert numbers == {("WriteRequest", "timeseries"): 1, ("WriteRequest", "metadata"): 3,
                       ("TimeSeries", "labels"): 1, ("TimeSeries", "samples"): 2, ("TimeSeries", "exemplars"): 3,
                       ("TimeSeries", "histograms"): 4, ("Label", "name"): 1, ("Label", "value"): 2,
                       ("Sample", "value"): 1, ("Sample", "timestamp"): 2}
    # Sample{value=1 double, timestamp=2 int64}, as bytes: tag 0x09 (1, fixed64) and 0x10 (2, varint)
    assert prompb.Sample(value=1.0, timestamp=1).SerializeToString() == bytes.fromhex("09000000000000f03f1001")


def test_the_declared_uncompressed_length_is_refused_before_decompressing() -> None:
    raw = write_request((UTIL, [(50.0, 1)] * 100))
    body = snappy(raw)
    assert snappy_length(body) == len(raw)
    with pytest.raises(BatchTooLarge, match=f"declares {len(raw)} bytes uncompressed"):
        decode(body, max_decoded_bytes=len(raw) - 1, max_samples=1000)
    assert len(decode(body, max_decoded_bytes=len(raw), max_samples=1000)[0].points) == 100
    # a block that claims 4 GiB is refused by its preamble alone, its (absent) rest never read
    with pytest.raises(BatchTooLarge):
        decode(b"\xff\xff\xff\xff\x0f", max_decoded_bytes=BIG, max_samples=1)


def test_more_samples_than_a_request_may_hold_is_too_large() -> None:
    body = snappy(write_request((UTIL, [(50.0, t) for t in range(6)]), histograms=1))
    with pytest.raises(BatchTooLarge, match="7 samples"):
        decode(body, max_decoded_bytes=BIG, max_samples=6)
    assert decode(body, max_decoded_bytes=BIG, max_samples=7)


@pytest.mark.parametrize(("body", "reason"), [
    (b"", "empty"),
    (b"\x80\x80\x80\x80\x80\x01", "not a varint of at most 32 bits"),
    (b"\x80", "not a varint"),
    (b"\x0fgarbage!", "not a snappy block"),
    (bytes(cramjam.snappy.compress(b"framed, not raw")), "not a snappy block"),
    (snappy(b"\x0a\xff\xff\xff"), "not a prometheus.WriteRequest"),
    (snappy(b"\x0a\x02\x0a\x05"), "not a prometheus.WriteRequest"),
    (snappy(b"\x0a\x07\x0a\x05\x0a\x01\xff\x12\x00"), "not a prometheus.WriteRequest"),  # a label name not UTF-8
])
def test_a_body_that_is_not_a_snappy_write_request_is_malformed_naming_why(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedBatch, match=reason) as refused:
        decode(body, max_decoded_bytes=BIG, max_samples=100)
    assert refused.value.field == "body"


def test_remote_write_1_0_headers_pass() -> None:
    check_headers(HEADERS)
    check_headers({**HEADERS, "content-type": "application/x-protobuf;proto=prometheus.WriteRequest"})
    check_headers({k: v for k, v in HEADERS.items() if k != "x-prometheus-remote-write-version"})


@pytest.mark.parametrize("content_type", ["application/json", "application/x-ndjson", "",
                                          "application/x-protobuf;proto=io.prometheus.write.v2.Request"])
def test_another_content_type_or_message_is_unsupported(content_type: str) -> None:
    with pytest.raises(UnsupportedMediaType):
        check_headers({**HEADERS, "content-type": content_type})


@pytest.mark.parametrize(("changed", "field"), [
    ({"content-encoding": "gzip"}, "content-encoding"), ({"content-encoding": ""}, "content-encoding"),
    ({"x-prometheus-remote-write-version": "2.0.0"}, "X-Prometheus-Remote-Write-Version")])
def test_another_encoding_or_version_is_malformed_naming_the_header(changed: dict[str, str], field: str) -> None:
    headers = {**HEADERS, **changed}
    if not changed.get("content-encoding", "x"):
        del headers["content-encoding"]
    with pytest.raises(MalformedBatch) as refused:
        check_headers(headers)
    assert refused.value.field == field
