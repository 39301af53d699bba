"""The five services as the tests see them: settings on the test's database and topics, apps and workers."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from servicekit.clock import Clock, utcnow
from servicekit.settings import DbSettings, KafkaSettings, OutboxSettings, ServiceSettings
from support.auth import auth_settings
from support.infra import REPO, Infra


@dataclass(frozen=True)
class ServiceSpec:
    name: str

    @property
    def migrations(self) -> Path:
        return REPO / "services" / self.name / "migrations"

    @property
    def env_prefix(self) -> str:
        return f"{self.name.upper()}_"

    def settings(self, infra: Infra, database: str, topic_prefix: str, **overrides: Any) -> ServiceSettings:
        settings_class = importlib.import_module(f"{self.name}.config").Settings
        base: dict[str, Any] = {
            "db": DbSettings(url=infra.sqlalchemy_url(database), pool_size=3),
            "kafka": KafkaSettings(bootstrap_servers=infra.kafka_bootstrap, topic_prefix=topic_prefix,
                                   request_timeout_ms=5_000, topic_partitions=2),
            # sent rows kept, for the tests that read what a service published from its outbox
            "outbox": OutboxSettings(poll_interval_s=0.05, max_backoff_s=1.0, retention_days=1),
            "auth": auth_settings() if self.name == ISSUER else auth_settings().model_copy(
                update={"private_key_pem": None}),
        }
        return settings_class(**{**base, **overrides})  # type: ignore[no-any-return]

    def env(self, infra: Infra, database: str, topic_prefix: str, port: int) -> dict[str, str]:
        """The same settings as environment variables, for the service run as a real process."""
        p = self.env_prefix
        auth = auth_settings()
        keys = {f"{p}AUTH__PUBLIC_KEYS_PEM": "".join(auth.public_keys_pem)}
        if auth.private_key_pem is not None and self.name == ISSUER:  # only the issuer holds the signing key
            keys[f"{p}AUTH__PRIVATE_KEY_PEM"] = auth.private_key_pem.get_secret_value()
        return {**keys,
            f"{p}DB__URL": infra.sqlalchemy_url(database), f"{p}DB__POOL_SIZE": "3",
            f"{p}KAFKA__BOOTSTRAP_SERVERS": infra.kafka_bootstrap, f"{p}KAFKA__TOPIC_PREFIX": topic_prefix,
            f"{p}KAFKA__REQUEST_TIMEOUT_MS": "5000", f"{p}KAFKA__TOPIC_PARTITIONS": "2",
            f"{p}OUTBOX__POLL_INTERVAL_S": "0.05", f"{p}OUTBOX__MAX_BACKOFF_S": "1.0",
            f"{p}OUTBOX__RETENTION_DAYS": "1",
            f"{p}HTTP__HOST": "127.0.0.1", f"{p}HTTP__PORT": str(port),
        }

    # every service's composition roots take the same `clock` (servicekit.clock): a test moves time through it
    def create_app(self, settings: ServiceSettings, *, clock: Clock = utcnow) -> Any:
        return importlib.import_module(f"{self.name}.entrypoints.api").create_app(settings, clock=clock)

    def bootstrap(self, settings: ServiceSettings, *, clock: Clock = utcnow) -> Any:
        return importlib.import_module(f"{self.name}.bootstrap").bootstrap(settings, clock=clock)

    def create_worker(self, settings: ServiceSettings, *, clock: Clock = utcnow) -> Any:
        return importlib.import_module(f"{self.name}.entrypoints.worker").create_worker(settings, clock=clock)


ISSUER = "intake"
SERVICES = {name: ServiceSpec(name) for name in ("intake", "evaluation", "allocation", "telemetry", "billing",
                                                   "dashboard")}
