"""Tenants and their API keys, in the store the service uses.

A key is shown once, when it is made (``bk_<id>_<secret>``); the store keeps only its
SHA-256 digest. The secret is 256 random bits, so a fast hash is enough: nobody can
guess a key from its digest, and a slow password hash would only slow every request.
Each tenant has quotas (concurrent jobs, tokens per job); its jobs live in its own
namespace (``keys.tenant_namespace``).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any, cast

import redis.asyncio as aioredis
from pydantic import BaseModel, ConfigDict, Field
from redis import exceptions as rexc

from orchestrator.errors import StoreUnavailable
from orchestrator.store import keys
from orchestrator.store.redis_store import describe_redis_error, text, translated

KEY_PREFIX = "bk_"


class Tenant(BaseModel):
    """A tenant and its quotas (None: unlimited)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    max_concurrent_jobs: int | None = Field(default=None, ge=1)
    max_tokens_per_job: int | None = Field(default=None, ge=1)
    created_at: float = Field(default_factory=time.time)


class ApiKey(BaseModel):
    """What is stored of an API key: its id (public), its tenant, when it was made."""

    model_config = ConfigDict(extra="forbid")

    key_id: str
    tenant: str
    created_at: float = Field(default_factory=time.time)


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_api_key() -> tuple[str, str]:
    """A new random API key and its public id."""
    key_id = secrets.token_hex(4)
    return f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}", key_id


class TenantStore:
    """The tenants and API keys of the service under ``base``."""

    def __init__(self, client: aioredis.Redis, base: str, *, url: str = "redis") -> None:
        self._client = client
        self.base = keys.check_namespace(base)
        self.url = url

    def _unavailable(self, exc: rexc.RedisError) -> StoreUnavailable:
        return describe_redis_error(exc, self.url)

    @translated
    async def create_key(
        self,
        tenant: str,
        *,
        max_concurrent_jobs: int | None = None,
        max_tokens_per_job: int | None = None,
    ) -> tuple[str, ApiKey, Tenant]:
        """A new key of ``tenant`` (created if new; quotas given here replace its own)."""
        keys.tenant_namespace(self.base, tenant)  # the tenant's namespace must be valid
        current = await self.get_tenant(tenant)
        record = current or Tenant(name=tenant)
        updates: dict[str, Any] = {}
        if max_concurrent_jobs is not None:
            updates["max_concurrent_jobs"] = max_concurrent_jobs
        if max_tokens_per_job is not None:
            updates["max_tokens_per_job"] = max_tokens_per_job
        record = Tenant.model_validate({**record.model_dump(), **updates})
        key, key_id = new_api_key()
        stored = ApiKey(key_id=key_id, tenant=tenant)
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.hset(keys.tenants(self.base), tenant, record.model_dump_json())
            pipe.hset(keys.api_keys(self.base), key_digest(key), stored.model_dump_json())
            await pipe.execute()
        return key, stored, record

    async def authenticate(self, key: str) -> Tenant | None:
        """The tenant whose key ``key`` is, or None for an unknown or revoked key."""
        return await self.tenant_of_digest(key_digest(key))

    @translated
    async def tenant_of_digest(self, digest: str) -> Tenant | None:
        """The tenant of the key whose digest is ``digest`` (None: unknown or revoked)."""
        raw = await self._client.hget(keys.api_keys(self.base), digest)
        if raw is None:
            return None
        stored = ApiKey.model_validate_json(raw)
        return await self.get_tenant(stored.tenant) or Tenant(name=stored.tenant)

    @translated
    async def get_tenant(self, name: str) -> Tenant | None:
        raw = await self._client.hget(keys.tenants(self.base), name)
        return None if raw is None else Tenant.model_validate_json(raw)

    @translated
    async def list_keys(self) -> list[ApiKey]:
        """Every key (its id and tenant, never the key), oldest first."""
        raw = cast("dict[Any, Any]", await self._client.hgetall(keys.api_keys(self.base)))
        stored = [ApiKey.model_validate_json(value) for value in raw.values()]
        return sorted(stored, key=lambda k: k.created_at)

    @translated
    async def revoke(self, key_id: str) -> bool:
        """Delete the key with id ``key_id``; False if there is none."""
        raw = cast("dict[Any, Any]", await self._client.hgetall(keys.api_keys(self.base)))
        for digest, value in raw.items():
            if ApiKey.model_validate_json(value).key_id == key_id:
                await self._client.hdel(keys.api_keys(self.base), text(digest))
                return True
        return False
