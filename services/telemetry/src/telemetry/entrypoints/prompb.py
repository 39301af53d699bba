"""Prometheus remote-write 1.0's messages (`prometheus.WriteRequest`), built at run time from a descriptor written
here, with no protoc step.

Field names, numbers and types are those of Prometheus' prompb/types.proto and prompb/remote.proto (package
`prometheus`); gogoproto's options change nothing on the wire and are left out. Every message a WriteRequest can
hold is declared whole, so the parser checks each field's wire type as Prometheus' own would.
"""
from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory  # type: ignore[import-untyped]  # protobuf ships no type information

Field = descriptor_pb2.FieldDescriptorProto
PACKAGE = "prometheus"
OPTIONAL, REPEATED = Field.LABEL_OPTIONAL, Field.LABEL_REPEATED
DOUBLE, INT64, UINT64, UINT32 = Field.TYPE_DOUBLE, Field.TYPE_INT64, Field.TYPE_UINT64, Field.TYPE_UINT32
SINT32, SINT64, STRING, ENUM, MESSAGE = (Field.TYPE_SINT32, Field.TYPE_SINT64, Field.TYPE_STRING, Field.TYPE_ENUM,
                                         Field.TYPE_MESSAGE)


def _message(file: Any, name: str, *fields: tuple[Any, ...], oneofs: tuple[str, ...] = (),
             enums: dict[str, list[str]] | None = None, reserved: tuple[int, ...] = ()) -> None:
    """A message of `file`: each field (name, number, type[, label[, type name[, oneof index]]])."""
    message = file.message_type.add(name=name)
    for enum_name, values in (enums or {}).items():
        enum = message.enum_type.add(name=enum_name)
        for number, value in enumerate(values):
            enum.value.add(name=value, number=number)
    for oneof in oneofs:
        message.oneof_decl.add(name=oneof)
    for number in reserved:
        message.reserved_range.add(start=number, end=number + 1)
    for name_, number, type_, *rest in fields:
        label = rest[0] if rest else OPTIONAL
        field = message.field.add(name=name_, number=number, type=type_, label=label)
        if len(rest) > 1 and rest[1]:
            field.type_name = f".{PACKAGE}.{rest[1]}"
        if len(rest) > 2:
            field.oneof_index = rest[2]


def _descriptor() -> Any:
    file = descriptor_pb2.FileDescriptorProto(name="prometheus/remote_write_1.proto", package=PACKAGE,
                                              syntax="proto3")
    _message(file, "MetricMetadata",
             ("type", 1, ENUM, OPTIONAL, "MetricMetadata.MetricType"),
             ("metric_family_name", 2, STRING), ("help", 4, STRING), ("unit", 5, STRING),
             enums={"MetricType": ["UNKNOWN", "COUNTER", "GAUGE", "HISTOGRAM", "GAUGEHISTOGRAM", "SUMMARY", "INFO",
                                   "STATESET"]})
    _message(file, "Sample", ("value", 1, DOUBLE), ("timestamp", 2, INT64))
    _message(file, "Exemplar", ("labels", 1, MESSAGE, REPEATED, "Label"), ("value", 2, DOUBLE),
             ("timestamp", 3, INT64))
    _message(file, "Histogram",
             ("count_int", 1, UINT64, OPTIONAL, None, 0), ("count_float", 2, DOUBLE, OPTIONAL, None, 0),
             ("sum", 3, DOUBLE), ("schema", 4, SINT32), ("zero_threshold", 5, DOUBLE),
             ("zero_count_int", 6, UINT64, OPTIONAL, None, 1), ("zero_count_float", 7, DOUBLE, OPTIONAL, None, 1),
             ("negative_spans", 8, MESSAGE, REPEATED, "BucketSpan"), ("negative_deltas", 9, SINT64, REPEATED),
             ("negative_counts", 10, DOUBLE, REPEATED),
             ("positive_spans", 11, MESSAGE, REPEATED, "BucketSpan"), ("positive_deltas", 12, SINT64, REPEATED),
             ("positive_counts", 13, DOUBLE, REPEATED),
             ("reset_hint", 14, ENUM, OPTIONAL, "Histogram.ResetHint"), ("timestamp", 15, INT64),
             ("custom_values", 16, DOUBLE, REPEATED),
             oneofs=("count", "zero_count"), enums={"ResetHint": ["UNKNOWN", "YES", "NO", "GAUGE"]})
    _message(file, "BucketSpan", ("offset", 1, SINT32), ("length", 2, UINT32))
    _message(file, "TimeSeries",
             ("labels", 1, MESSAGE, REPEATED, "Label"), ("samples", 2, MESSAGE, REPEATED, "Sample"),
             ("exemplars", 3, MESSAGE, REPEATED, "Exemplar"), ("histograms", 4, MESSAGE, REPEATED, "Histogram"))
    _message(file, "Label", ("name", 1, STRING), ("value", 2, STRING))
    # field 2 is reserved in Prometheus' own (Cortex used it for the request's source)
    _message(file, "WriteRequest",
             ("timeseries", 1, MESSAGE, REPEATED, "TimeSeries"), ("metadata", 3, MESSAGE, REPEATED, "MetricMetadata"),
             reserved=(2,))
    return file


def _classes() -> dict[str, Any]:
    # a pool of our own: nothing else in the process can clash with these names
    pool = descriptor_pool.DescriptorPool()
    pool.Add(_descriptor())
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PACKAGE}.{name}"))
            for name in ("WriteRequest", "TimeSeries", "Label", "Sample", "Histogram", "Exemplar", "MetricMetadata")}


_CLASSES = _classes()
WriteRequest: Any = _CLASSES["WriteRequest"]
TimeSeries: Any = _CLASSES["TimeSeries"]
Label: Any = _CLASSES["Label"]
Sample: Any = _CLASSES["Sample"]
Histogram: Any = _CLASSES["Histogram"]
