"""The GPU platform's event contracts: Pydantic v2 models, their registry and the CloudEvents Kafka binding."""
from contracts import topics
from contracts.base import Contract, Event
from contracts.cloudevents import KafkaRecord, PoisonMessage, from_record, to_record
from contracts.events import *  # noqa: F403
from contracts.events import __all__ as _event_names
from contracts.registry import REGISTRY, event_class

__all__ = [
    "REGISTRY",
    "Contract",
    "Event",
    "KafkaRecord",
    "PoisonMessage",
    "event_class",
    "from_record",
    "to_record",
    "topics",
    *_event_names,
]
