"""Settings every service shares; each service subclasses ServiceSettings with its own env prefix."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PEM_BLOCK = re.compile(r"-----BEGIN [A-Z ]+-----.+?-----END [A-Z ]+-----", re.DOTALL)


class DbSettings(BaseModel):
    url: str = "postgresql+asyncpg://platform:platform@127.0.0.1:15432/gpuplatform"
    pool_size: int = Field(default=5, ge=1)
    echo: bool = False


class KafkaSettings(BaseModel):
    bootstrap_servers: str = "127.0.0.1:19092"
    topic_prefix: str = Field(default="", description="Prepended to every topic: one broker, many environments.")
    request_timeout_ms: int = Field(default=15_000, ge=1_000)
    topic_partitions: int = Field(default=3, ge=1)
    topic_replication_factor: int = Field(default=1, ge=1)

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"


class OutboxSettings(BaseModel):
    poll_interval_s: float = Field(default=1.0, gt=0, description="The relay's fallback poll: a commit that adds "
                                                                  "rows wakes it at once (LISTEN/NOTIFY).")
    batch_size: int = Field(default=500, ge=1)
    max_backoff_s: float = Field(default=5.0, gt=0)
    retention_days: int = Field(default=7, ge=0)


class WorkerSettings(BaseModel):
    """The worker's resilience and health: bounded retries before a record is parked, and the probes."""

    max_attempts: int = Field(default=3, ge=1, le=100, description="A handler that raises is run this many times "
                                                                   "(with backoff), then its record is parked on "
                                                                   "the dead-letter topic and the partition moves on.")
    max_transient_attempts: int = Field(default=50, ge=1, le=10_000,
                                        description="A conflict the database reports (serialization, deadlock, "
                                                    "exclusion race) is retried this many times before parking; "
                                                    "a lost connection to the broker or database is retried "
                                                    "without limit.")
    health_host: str = "127.0.0.1"
    health_port: int = Field(default=0, ge=0, le=65535, description="The worker's own /healthz and /readyz for "
                                                                   "process probes; 0 serves none.")
    heartbeat_interval_s: float = Field(default=2.0, gt=0, le=60)
    stale_after_s: float = Field(default=15.0, gt=0, le=600, description="The API is not ready while no worker "
                                                                       "has beaten within this time.")
    stall_after_s: float = Field(default=300.0, gt=0, le=3600, description="A worker part whose loop has not "
                                                                          "turned for this long makes the worker "
                                                                          "not alive.")
    require_for_readiness: bool = Field(default=True, description="The API's /readyz counts the workers' "
                                                                  "heartbeats.")


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000


class AuthSettings(BaseModel):
    """Access tokens: intake signs them with the private key; every service verifies them with the public keys.

    There is no switch to turn authentication off: a service that mounts it refuses to start without a key.
    """

    issuer: str = "gpu-platform/intake"
    audience: str = "gpu-platform"
    private_key_pem: SecretStr | None = Field(default=None, description="Ed25519 signing key, PKCS#8 PEM (intake).")
    public_keys_pem: Annotated[list[str], NoDecode] = Field(
        default=[], description="Ed25519 verification keys, PEM: the current key, then any still trusted while "
                                "keys rotate. One variable may hold several concatenated PEM blocks.")
    private_key_file: Path | None = Field(default=None, description="Read the signing key from this file instead "
                                                                   "(a mounted secret).")
    public_keys_file: Path | None = Field(default=None, description="Read verification keys from this file too.")
    token_ttl_s: int = Field(default=900, ge=60, le=3600)
    leeway_s: int = Field(default=30, ge=0, le=300, description="Tolerated clock skew between services.")

    @field_validator("public_keys_pem", mode="before")
    @classmethod
    def _split_pem_bundle(cls, value: Any) -> Any:
        # an environment variable is one string: a JSON list, or PEM blocks one after the other
        if isinstance(value, str):
            text = value.strip()
            return json.loads(text) if text.startswith("[") else PEM_BLOCK.findall(text)
        return value

    @model_validator(mode="after")
    def _read_key_files(self) -> AuthSettings:
        if self.private_key_file is not None and self.private_key_pem is None:
            self.private_key_pem = SecretStr(self.private_key_file.read_text())
        if self.public_keys_file is not None:
            found = PEM_BLOCK.findall(self.public_keys_file.read_text())
            self.public_keys_pem = [*self.public_keys_pem, *(k for k in found if k not in self.public_keys_pem)]
        return self


class ServiceSettings(BaseSettings):
    """Built once at start-up from `<SERVICE>_<SECTION>__<KEY>` variables and passed down."""

    model_config = SettingsConfigDict(env_nested_delimiter="__", extra="ignore")
    service_name: ClassVar[str]

    db: DbSettings = DbSettings()
    kafka: KafkaSettings = KafkaSettings()
    outbox: OutboxSettings = OutboxSettings()
    http: HttpSettings = HttpSettings()
    worker: WorkerSettings = WorkerSettings()
    auth: AuthSettings = AuthSettings()

    @property
    def schema_name(self) -> str:
        return self.service_name

    @property
    def source(self) -> str:
        """CloudEvents `source` of everything this service publishes."""
        return f"/gpu-platform/{self.service_name}"
