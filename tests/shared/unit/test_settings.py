"""Settings from the environment: one variable of a section changes that value and no other."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from evaluation.config import Settings as EvaluationSettings
from servicekit.cli import named
from servicekit.kafka import FETCH_TOGETHER_BYTES, make_consumer
from telemetry.config import Settings


def test_one_http_variable_keeps_the_services_own_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMETRY_HTTP__MAX_BODY_BYTES", "4096")
    settings = Settings()
    assert (settings.http.port, settings.http.max_body_bytes) == (8004, 4096)


def test_a_port_given_is_the_port_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMETRY_HTTP__PORT", "9104")
    assert Settings().http.port == 9104


def test_a_kafka_variable_keeps_the_services_own_fetch_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMETRY_KAFKA__BOOTSTRAP_SERVERS", "kafka:9092")
    monkeypatch.setenv("EVALUATION_KAFKA__BOOTSTRAP_SERVERS", "kafka:9092")
    assert Settings().kafka.fetch_wait_ms == 100  # no decision waits on telemetry: its fetches gather records
    assert EvaluationSettings().kafka.fetch_wait_ms == 0  # allocation waits on its scores


async def test_a_fetch_wait_given_is_the_one_the_consumer_asks_the_broker_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMETRY_KAFKA__FETCH_WAIT_MS", "250")
    waiting = make_consumer(Settings().kafka, "t", group_id="g")
    monkeypatch.setenv("TELEMETRY_KAFKA__FETCH_WAIT_MS", "0")
    at_once = make_consumer(Settings().kafka, "t", group_id="g")
    assert (waiting._fetch_max_wait_ms, waiting._fetch_min_bytes) == (250, FETCH_TOGETHER_BYTES)
    assert at_once._fetch_min_bytes == 1  # answered as soon as one record is there


def test_a_fetch_wait_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMETRY_KAFKA__FETCH_WAIT_MS", "5000")
    with pytest.raises(ValidationError, match="fetch_wait_ms"):
        Settings()


@pytest.mark.parametrize(("name", "value"), [
    ("OUTBOX__BATCH_SIZE", "0"), ("OUTBOX__BATCH_SIZE", "10001"), ("OUTBOX__BATCHES_PER_COMMIT", "0"),
    ("OUTBOX__BATCHES_PER_COMMIT", "101"), ("OUTBOX__RETENTION_DAYS", "-1"), ("KAFKA__BATCH_BYTES", "1023"),
    ("KAFKA__BATCH_BYTES", "1048577")])
def test_the_relays_batches_are_bounded(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(f"TELEMETRY_{name}", value)
    with pytest.raises(ValidationError, match=name.split("__")[1].lower()):
        Settings()


def test_the_relays_statements_a_transaction_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMETRY_OUTBOX__BATCHES_PER_COMMIT", "3")
    assert Settings().outbox.batches_per_commit == 3
    assert Settings().outbox.batch_size == 500


def test_a_process_names_its_connections_after_its_service_and_role(monkeypatch: pytest.MonkeyPatch) -> None:
    assert named(Settings(), "worker").db.application_name == "telemetry-worker"
    monkeypatch.setenv("TELEMETRY_DB__APPLICATION_NAME", "telemetry-worker-b")
    assert named(Settings(), "worker").db.application_name == "telemetry-worker-b"  # a name given stands


@pytest.mark.parametrize("value", ["t" * 64, "telemetry-\u0430pi", "telemetry\napi"],
                         ids=["long", "not-ascii", "newline"])
def test_a_connections_name_is_bounded(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("TELEMETRY_DB__APPLICATION_NAME", value)
    with pytest.raises(ValidationError, match="application_name"):
        Settings()
