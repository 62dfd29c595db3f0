"""What the service shares between requests: config, runtime, queue, tenants, workers."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.app import Runtime
from orchestrator.errors import ConfigError
from orchestrator.settings import Settings
from orchestrator.store.cancels import CancelRequests
from orchestrator.store.queue import JobQueue
from orchestrator.store.redis_store import RedisStore
from orchestrator.store.tenants import TenantStore
from orchestrator.store.workers import WorkerRegistry
from orchestrator.worker import Worker, WorkerOptions

LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


class ServiceConfig(BaseModel):
    """How ``breadth serve`` runs: settings, auth, in-process workers, corpora."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    settings: Settings = Field(default_factory=Settings)
    host: str = "127.0.0.1"
    auth: bool = True
    workers: int = Field(default=1, ge=0, le=64)
    worker_options: WorkerOptions = Field(default_factory=WorkerOptions)
    corpora: str | None = None
    # A worker counts as alive while it heartbeat within this many seconds.
    alive_within_s: float = 0.0

    def checked(self) -> ServiceConfig:
        """This config, or ``ConfigError`` for auth off on an address others can reach."""
        if not self.auth and self.host not in LOOPBACK_HOSTS:
            raise ConfigError(
                f"--no-auth is accepted only on a loopback address (127.0.0.1, ::1, localhost), "
                f"not on --host {self.host!r}: anyone who reaches it could run and read jobs. "
                f"Keep auth on (create a key with `breadth keys create --tenant NAME`), or "
                f"serve on 127.0.0.1"
            )
        return self

    @property
    def liveness_s(self) -> float:
        return self.alive_within_s or self.worker_options.lease_s


@dataclass
class ServiceState:
    """The service's collaborators, built once at startup (``app.state.breadth``)."""

    config: ServiceConfig
    runtime: Runtime
    store: RedisStore
    queue: JobQueue
    cancels: CancelRequests
    tenants: TenantStore
    registry: WorkerRegistry
    workers: list[Worker] = field(default_factory=list)

    @classmethod
    def build(cls, config: ServiceConfig, runtime: Runtime) -> ServiceState:
        store = runtime.store
        if not isinstance(store, RedisStore):
            raise ConfigError("the service needs a Redis store (a server, or the embedded one)")
        base = runtime.settings.namespace
        return cls(
            config=config,
            runtime=runtime,
            store=store,
            queue=JobQueue(store.client, base, url=store.url),
            cancels=CancelRequests(store.client, base, url=store.url),
            tenants=TenantStore(store.client, base, url=store.url),
            registry=WorkerRegistry(store.client, base, url=store.url),
        )
