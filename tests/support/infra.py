"""Where the real broker and database are: testcontainers when a Docker engine answers, else the local stack.

The local stack is what `make test` starts (deploy/local/stack.sh); its addresses are in `.local/env`.
"""
from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
LOCAL_ENV = REPO / ".local" / "env"


@dataclass(frozen=True)
class Infra:
    kafka_bootstrap: str
    pg_host: str
    pg_port: int
    pg_user: str = "platform"
    pg_password: str = "platform"
    container: Any = field(default=None, compare=False, repr=False)

    def dsn(self, database: str) -> str:
        """libpq/asyncpg DSN."""
        return f"postgresql://{self.pg_user}:{self.pg_password}@{self.pg_host}:{self.pg_port}/{database}"

    def sqlalchemy_url(self, database: str) -> str:
        return self.dsn(database).replace("postgresql://", "postgresql+asyncpg://", 1)


def _local_env() -> dict[str, str]:
    values: dict[str, str] = {}
    if LOCAL_ENV.exists():
        for line in LOCAL_ENV.read_text().splitlines():
            line = line.removeprefix("export ").strip()
            if "=" in line and not line.startswith("#"):
                key, value = line.split("=", 1)
                values[key] = value.strip().strip("'\"")
    return {**values, **{k: v for k, v in os.environ.items() if k in values or k.startswith(("KAFKA_", "PG_"))}}


def _docker_answers() -> bool:
    if os.environ.get("TESTS_USE_LOCAL_STACK") == "1":
        return False
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


def _reachable(host: str, port: int) -> bool:
    with suppress(OSError), socket.create_connection((host, port), timeout=2):
        return True
    return False


@contextmanager
def provide() -> Iterator[Infra]:
    if _docker_answers():
        with _containers() as infra:
            yield infra
        return
    env = _local_env()
    kafka = env.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    infra = Infra(kafka_bootstrap=kafka, pg_host=env.get("PG_HOST", "127.0.0.1"),
                  pg_port=int(env.get("PG_PORT", "15432")))
    k_host, k_port = kafka.rsplit(":", 1)
    if not (_reachable(infra.pg_host, infra.pg_port) and _reachable(k_host, int(k_port))):
        raise RuntimeError("Kafka or PostgreSQL is not running: `make test` starts them "
                           "(or `bash deploy/local/stack.sh up`).")
    yield infra


@contextmanager
def _containers() -> Iterator[Infra]:
    """The official apache/kafka and postgres images, on ports chosen here."""
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs
    from testcontainers.postgres import PostgresContainer

    kafka_port = free_port()
    kafka = DockerContainer("apache/kafka:4.1.1").with_bind_ports(9092, kafka_port)
    for key, value in {
        "KAFKA_NODE_ID": "1", "KAFKA_PROCESS_ROLES": "broker,controller",
        "KAFKA_LISTENERS": "PLAINTEXT://:9092,CONTROLLER://:9093",
        "KAFKA_ADVERTISED_LISTENERS": f"PLAINTEXT://127.0.0.1:{kafka_port}",
        "KAFKA_CONTROLLER_LISTENER_NAMES": "CONTROLLER",
        "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "KAFKA_CONTROLLER_QUORUM_VOTERS": "1@localhost:9093",
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR": "1", "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1", "KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
    }.items():
        kafka = kafka.with_env(key, value)
    postgres = PostgresContainer("postgres:16", username="platform", password="platform", dbname="gpuplatform")
    with postgres, kafka:
        wait_for_logs(kafka, "Kafka Server started", timeout=120)
        yield Infra(kafka_bootstrap=f"127.0.0.1:{kafka_port}", pg_host=postgres.get_container_host_ip(),
                    pg_port=int(postgres.get_exposed_port(5432)), container=kafka)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class KafkaControl:
    """Stops and restarts the real broker, for tests of what happens while it is away."""

    def __init__(self, infra: Infra) -> None:
        self._infra = infra

    def stop(self) -> None:
        self._run("stop")

    def start(self) -> None:
        self._run("start")

    def _run(self, action: str) -> None:
        import subprocess

        if self._infra.container is not None:
            getattr(self._infra.container.get_wrapped_container(), "pause" if action == "stop" else "unpause")()
            return
        subprocess.run(["bash", str(REPO / "deploy" / "local" / "kafka.sh"), action], check=True,
                       capture_output=True, timeout=180)
