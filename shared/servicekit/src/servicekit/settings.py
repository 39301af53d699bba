"""Settings every service shares; each service subclasses ServiceSettings with its own env prefix."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PEM_BLOCK = re.compile(r"-----BEGIN [A-Z ]+-----.+?-----END [A-Z ]+-----", re.DOTALL)


class DbSettings(BaseModel):
    url: str = "postgresql+asyncpg://platform:platform@127.0.0.1:15432/gpuplatform"
    pool_size: int = Field(default=5, ge=1)
    pool_timeout_s: float = Field(default=30.0, gt=0, le=300, description="How long a request or a handler waits "
                                  "for a pooled connection when every one is taken (the pool keeps `pool_size` and "
                                  "opens as many more at need); then an API answers 503 with Retry-After and a "
                                  "worker tries the record again.")
    ping_after_idle_s: float = Field(default=5.0, ge=0, le=3600, description="A pooled connection idle this long "
                                     "is pinged before use (and replaced if the database went away); 0 pings at "
                                     "every use.")
    application_name: str = Field(default="", max_length=63, pattern=r"^[\x20-\x7e]*$",
                                  description="How the process names itself to PostgreSQL (pg_stat_activity, "
                                              "the server's log lines): printable ASCII, at most 63 characters. "
                                              "Empty: `<service>-<role>` (`intake-api`), as the process starts.")
    echo: bool = False


class KafkaSettings(BaseModel):
    bootstrap_servers: str = "127.0.0.1:19092"
    topic_prefix: str = Field(default="", description="Prepended to every topic: one broker, many environments.")
    request_timeout_ms: int = Field(default=15_000, ge=1_000)
    topic_partitions: int = Field(default=3, ge=1)
    topic_replication_factor: int = Field(default=1, ge=1)
    linger_ms: int = Field(default=0, ge=0, le=1000, description="How long a producer holds a record for more to "
                           "batch with it. 0: sent at once; records added while a request is in flight still "
                           "batch.")
    batch_bytes: int = Field(default=131_072, ge=1_024, le=1_048_576,
                             description="The most a producer puts in one partition's record batch (one request "
                                         "carries a batch a partition).")
    fetch_wait_ms: int | None = Field(default=None, ge=0, le=1000,
                                      description="How long the broker may hold the consumer's fetch for more "
                                                  "records (up to 1 MiB) so that they are handled together: fewer "
                                                  "fetches, transactions and commits a record, each record up to "
                                                  "this much later. 0: answered as soon as one record is there. "
                                                  "Default: the service's own (0 where a decision waits on it, "
                                                  "100 for intake's worker, billing and telemetry).")

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"


class OutboxSettings(BaseModel):
    poll_interval_s: float = Field(default=1.0, gt=0, description="The relay's fallback poll: a commit that adds "
                                                                  "rows wakes it at once (LISTEN/NOTIFY).")
    batch_size: int = Field(default=500, ge=1, le=10_000, description="Rows the relay reads in one statement.")
    batches_per_commit: int = Field(default=10, ge=1, le=100,
                                    description="Statements of rows sent in one transaction: each is read while the "
                                                "rows before it are sent; the claims commit once Kafka has them all.")
    max_backoff_s: float = Field(default=5.0, gt=0)
    retention_days: int = Field(default=0, ge=0, le=3660,
                                description="Days a published row is kept, marked sent, before it is purged; 0: "
                                            "deleted in the statement that claims it, the cheaper claim.")


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
    batch: bool = Field(default=True, description="The events one poll returns (what arrived together) are handled in "
                                                  "one transaction (one by one when that fails); false: each in "
                                                  "its own.")
    commit_interval_s: float = Field(default=1.0, ge=0, le=60,
                                     description="Offsets of handled records are committed at most this often (and "
                                                 "at once on a stop, a rebalance or a parked record); a record "
                                                 "delivered again after a crash is passed over by the inbox. 0: "
                                                 "after every poll.")
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


class GcSettings(BaseModel):
    """The garbage collector of each process (`servicekit.memory`)."""

    freeze_after_start: bool = Field(default=True, description="Once the process has built its app or worker, the "
                                     "objects it holds are frozen out of later collections (`gc.freeze`).")
    young_threshold: int = Field(default=700, ge=100, le=1_000_000, description="Allocations, less deallocations, "
                                 "between two collections of the youngest generation (Python's own default, 700).")


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int | None = Field(default=None, ge=1, le=65535, description="Default: the service's own port.")
    max_body_bytes: int = Field(default=1_048_576, ge=0, description="A larger request body gets 413 (by its "
                                                                     "Content-Length, or once that many bytes "
                                                                     "arrived); a route may declare its own cap.")
    max_json_depth: int = Field(default=32, ge=1, le=512, description="A JSON body nested deeper gets 400.")
    retry_after_s: int = Field(default=5, ge=1, le=3600, description="Retry-After of a 503 while the database or "
                                                                    "the broker is unreachable.")


class RateLimitSettings(BaseModel):
    """Requests a minute per client, and how many at once: counted by each API replica on its own, so N replicas
    let a client through up to N times these. Flat fields, so that one variable overrides one number."""

    enabled: bool = True
    token_per_minute: int = Field(default=30, ge=1, description="POST /oauth/token, per client_id (HTTP Basic), "
                                                                "else per remote address.")
    token_burst: int = Field(default=10, ge=1)
    partner_per_minute: int = Field(default=120, ge=1)
    partner_burst: int = Field(default=30, ge=1)
    reviewer_per_minute: int = Field(default=240, ge=1)
    reviewer_burst: int = Field(default=60, ge=1)
    operator_per_minute: int = Field(default=600, ge=1)
    operator_burst: int = Field(default=120, ge=1)
    csp_per_minute: int = Field(default=240, ge=1, description="Sample batches included.")
    csp_burst: int = Field(default=60, ge=1)
    max_clients: int = Field(default=100_000, ge=1, description="Clients tracked at most; the least recently "
                                                                "admitted are forgotten first.")


class AuthSettings(BaseModel):
    """Access tokens: intake signs them with the private key; every service verifies them with the public keys,
    configured as PEM, published by intake as a JWKS (`jwks_url`), or both.

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
    jwks_url: str | None = Field(default=None, pattern=r"^https?://", description="Also trust the keys the issuer "
                                 "publishes here (its /.well-known/jwks.json), fetched at start and cached.")
    jwks_cache_ttl_s: float = Field(default=300, ge=1, le=86_400, description="The published keys are fetched "
                                                                             "again after this long.")
    jwks_min_refetch_s: float = Field(default=10, ge=0.1, le=3600, description="A token naming an unknown key "
                                                                              "fetches the keys at most this often.")
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


class LogSettings(BaseModel):
    format: Literal["json", "text"] = Field(default="json", description="One JSON object a line on stderr, or "
                                                                        "plain text for reading locally.")
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class ServiceSettings(BaseSettings):
    """Built once at start-up from `<SERVICE>_<SECTION>__<KEY>` variables and passed down."""

    model_config = SettingsConfigDict(env_nested_delimiter="__", extra="ignore")
    service_name: ClassVar[str]
    default_port: ClassVar[int] = 8000
    # how long its consumer's fetches may wait for more records: 0 for a service a decision waits on
    default_fetch_wait_ms: ClassVar[int] = 0

    db: DbSettings = DbSettings()
    kafka: KafkaSettings = KafkaSettings()
    outbox: OutboxSettings = OutboxSettings()
    http: HttpSettings = HttpSettings()
    rate_limit: RateLimitSettings = RateLimitSettings()
    worker: WorkerSettings = WorkerSettings()
    auth: AuthSettings = AuthSettings()
    log: LogSettings = LogSettings()
    gc: GcSettings = GcSettings()

    @model_validator(mode="after")
    def _own_port(self) -> ServiceSettings:
        # an <SVC>_HTTP__<KEY> variable builds the whole section anew: the service's port must survive it
        if self.http.port is None:
            self.http.port = self.default_port
        if self.kafka.fetch_wait_ms is None:  # likewise an <SVC>_KAFKA__<KEY> variable
            self.kafka.fetch_wait_ms = self.default_fetch_wait_ms
        return self

    @property
    def schema_name(self) -> str:
        return self.service_name

    @property
    def source(self) -> str:
        """CloudEvents `source` of everything this service publishes."""
        return f"/gpu-platform/{self.service_name}"
