"""``RedisStore``: the ``Store`` on a Redis server (any Redis >= 5; streams hold the events).

The key layout is in ``orchestrator.store.keys``. Every redis exception is translated
into ``StoreUnavailable`` in one place (``_translated`` / ``describe_redis_error``), so no
redis traceback reaches a user.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, Protocol, TypeAlias, TypeVar, cast
from urllib.parse import urlsplit

import redis.asyncio as aioredis
from redis import exceptions as rexc
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from orchestrator.errors import ConfigError, StoreUnavailable
from orchestrator.events import Event
from orchestrator.job import JobRecord
from orchestrator.plan import TaskResult
from orchestrator.store import keys

URL_SCHEMES = ("redis", "rediss", "unix")
CONNECT_TIMEOUT_S = 5.0

P = ParamSpec("P")
R = TypeVar("R")


class _Translates(Protocol):
    def _unavailable(self, exc: rexc.RedisError) -> StoreUnavailable: ...


S = TypeVar("S", bound=_Translates)
# XREAD's reply (RESP2): [(stream, [(entry id, {field: value})])], bytes unless decoded.
_StreamReply: TypeAlias = list[
    tuple[bytes | str, list[tuple[bytes | str, dict[bytes | str, bytes | str]]]]
]


def check_redis_url(url: str) -> str:
    """Return ``url`` if redis-py can connect with it, else raise ``ConfigError``."""
    parts = urlsplit(url)
    shown = redact_url(url)
    if parts.scheme not in URL_SCHEMES:
        raise ConfigError(
            f"Redis URL {shown!r} has scheme {parts.scheme!r}; it must be redis://, rediss:// "
            f"or unix://, e.g. --redis-url redis://127.0.0.1:6379/0 (or BREADTH_REDIS_URL)"
        )
    if parts.scheme == "unix":
        if not parts.path:
            raise ConfigError(
                f"Redis URL {shown!r} names no socket path; write it like "
                f"unix:///run/redis/redis.sock?db=0"
            )
        return url
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise ConfigError(
            f"Redis URL {shown!r} has a bad port; write it like redis://HOST:6379/0"
        ) from None
    if not parts.hostname:
        raise ConfigError(f"Redis URL {shown!r} names no host; write it like redis://HOST:6379/0")
    return url


def redact_url(url: str) -> str:
    """``url`` with its password (in the netloc or a ``password=`` query) shown as ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        if ":" in userinfo:
            netloc = f"{userinfo.split(':', 1)[0]}:***@{host}"
    query = "&".join(
        f"{name}=***" if name == "password" else f"{name}={value}" if sep else name
        for name, sep, value in (item.partition("=") for item in parts.query.split("&") if item)
    )
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    # Built by hand: urlunsplit drops the "//" of an empty netloc (unix:///path).
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def error_reason(exc: BaseException) -> str:
    """The operating system's words for a connection error, else redis-py's message."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, OSError) and cause.errno:
            return os.strerror(cause.errno)
        if isinstance(cause, OSError) and cause.strerror:
            return cause.strerror
        cause = cause.__cause__ or cause.__context__
    return str(exc) or type(exc).__name__


def _start_hint(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"start one with `redis-server --port 0 --unixsocket {parts.path}`"
    port = parts.port or 6379
    if parts.hostname in ("127.0.0.1", "localhost", "::1"):
        return f"start one with `redis-server --port {port}`"
    return f"check that the server at {parts.hostname}:{port} is up and reachable from here"


_AUTH_ERRORS = (
    rexc.AuthenticationError,
    rexc.AuthenticationWrongNumberOfArgsError,
    rexc.AuthorizationError,
)


def describe_redis_error(exc: rexc.RedisError, url: str) -> StoreUnavailable:
    """Translate a redis exception into a ``StoreUnavailable`` that names URL, rule and fix."""
    shown = redact_url(url)
    switch = "or leave out --redis-url and unset BREADTH_REDIS_URL to use the embedded store"
    if isinstance(exc, _AUTH_ERRORS):
        text = (
            f"the Redis server at {shown!r} refused the credentials ({exc}); put the right "
            f"user and password in the URL: redis://USER:PASSWORD@HOST:PORT/0"
        )
    elif isinstance(exc, rexc.BusyLoadingError):
        text = f"the Redis server at {shown!r} is still loading its data ({exc}); retry shortly"
    elif isinstance(exc, rexc.ConnectionError | rexc.TimeoutError):
        reason = error_reason(exc)
        text = f"no Redis server answers at {shown!r} ({reason}); {_start_hint(url)} {switch}"
    elif isinstance(exc, rexc.ReadOnlyError):
        text = (
            f"the Redis server at {shown!r} is a read-only replica ({exc}); "
            f"point breadth at the primary"
        )
    elif isinstance(exc, rexc.OutOfMemoryError):
        text = (
            f"the Redis server at {shown!r} is out of memory ({exc}); raise its maxmemory "
            f"or delete old jobs"
        )
    elif isinstance(exc, rexc.NoPermissionError):
        text = (
            f"the Redis user in {shown!r} may not run a command breadth needs ({exc}); "
            f"grant it read/write on the namespace's keys and the stream commands"
        )
    elif isinstance(exc, rexc.ResponseError) and "unknown command" in str(exc).lower():
        text = (
            f"the Redis server at {shown!r} lacks a command breadth needs ({exc}); "
            f"breadth needs Redis 5 or newer (streams): upgrade it, {switch}"
        )
    elif isinstance(exc, rexc.ResponseError) and str(exc).startswith("WRONGTYPE"):
        text = (
            f"a key under breadth's namespace at {shown!r} holds data of another kind ({exc}); "
            f"something else writes there: choose another --namespace"
        )
    else:
        text = f"the Redis server at {shown!r} failed: {type(exc).__name__}: {exc}"
    return StoreUnavailable(text)


def translated(
    method: Callable[Concatenate[S, P], Awaitable[R]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
    """Run a method of a Redis-backed object (with ``_unavailable``), turning any redis
    exception into ``StoreUnavailable``.
    """

    @functools.wraps(method)
    async def wrapper(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(self, *args, **kwargs)
        except rexc.RedisError as exc:
            raise self._unavailable(exc) from None

    return wrapper


def text(value: bytes | str) -> str:
    """A Redis reply value as text."""
    return value.decode() if isinstance(value, bytes) else value


class RedisStore:
    """The ``Store`` protocol on a Redis server; the store owns (and closes) ``client``."""

    def __init__(
        self,
        client: aioredis.Redis,
        namespace: str = "breadth",
        *,
        url: str | None = None,
        owns_client: bool = True,
    ) -> None:
        self.namespace = keys.check_namespace(namespace)
        self._client = client
        self._owns_client = owns_client
        self.url = url or _client_url(client)

    @property
    def client(self) -> aioredis.Redis:
        """The connection this store uses (the service's queue and tenants share it)."""
        return self._client

    def with_namespace(self, namespace: str) -> RedisStore:
        """This store under ``namespace``, on the same connection (which it does not close)."""
        scoped = RedisStore(self._client, namespace, url=self.url, owns_client=False)
        scoped._unavailable = self._unavailable  # type: ignore[method-assign]
        return scoped

    def keep_reconnecting(self, seconds: float = 30.0) -> None:
        """Retry commands that fail on a lost connection for about ``seconds`` (a Redis
        restart), with backoff, before they raise ``StoreUnavailable``.
        """
        cap = 0.5
        attempts = max(1, int(seconds / cap) + 4)
        self._client.set_retry(Retry(ExponentialBackoff(cap=cap, base=0.02), attempts))

    @classmethod
    async def connect(cls, url: str, namespace: str = "breadth") -> RedisStore:
        """Connect to the server at ``url`` and ping it (fails fast if nobody answers)."""
        check_redis_url(url)
        keys.check_namespace(namespace)
        client = aioredis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S)
        store = cls(client, namespace, url=url)
        try:
            await store.ping()
        except BaseException:
            await client.aclose()
            raise
        return store

    def _unavailable(self, exc: rexc.RedisError) -> StoreUnavailable:
        return describe_redis_error(exc, self.url)

    @translated
    async def ping(self) -> None:
        await self._client.ping()

    @translated
    async def put_job(self, job: JobRecord) -> None:
        ns = self.namespace
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.set(keys.job(ns, job.id), job.model_dump_json())
            pipe.zadd(keys.jobs_index(ns), {job.id: job.created_at})
            await pipe.execute()

    @translated
    async def get_job(self, job_id: str) -> JobRecord | None:
        raw = await self._client.get(keys.job(self.namespace, job_id))
        return None if raw is None else JobRecord.model_validate_json(raw)

    @translated
    async def list_jobs(self, limit: int = 20) -> list[JobRecord]:
        if limit <= 0:
            return []
        ns = self.namespace
        ids = cast(
            "list[bytes | str]", await self._client.zrevrange(keys.jobs_index(ns), 0, limit - 1)
        )
        if not ids:
            return []
        raws = await self._client.mget([keys.job(ns, text(i)) for i in ids])
        return [JobRecord.model_validate_json(raw) for raw in raws if raw is not None]

    @translated
    async def put_result(self, job_id: str, key: str, result: TaskResult) -> None:
        await self._client.hset(keys.results(self.namespace, job_id), key, result.model_dump_json())

    @translated
    async def get_result(self, job_id: str, key: str) -> TaskResult | None:
        raw = await self._client.hget(keys.results(self.namespace, job_id), key)
        return None if raw is None else TaskResult.model_validate_json(raw)

    @translated
    async def list_results(self, job_id: str) -> dict[str, TaskResult]:
        raw = await self._client.hgetall(keys.results(self.namespace, job_id))
        return {text(k): TaskResult.model_validate_json(v) for k, v in raw.items()}

    @translated
    async def put_artifact(self, job_id: str, name: str, value: str) -> None:
        await self._client.hset(keys.artifacts(self.namespace, job_id), name, value)

    @translated
    async def get_artifact(self, job_id: str, name: str) -> str | None:
        raw = await self._client.hget(keys.artifacts(self.namespace, job_id), name)
        return None if raw is None else text(raw)

    @translated
    async def append_event(self, event: Event) -> str:
        stream_id = await self._client.xadd(
            keys.events(self.namespace, event.job_id),
            {keys.EVENT_FIELD: event.model_dump_json()},
        )
        return text(stream_id)

    @translated
    async def read_events(
        self, job_id: str, after: str = "0", *, count: int = 1000, block_ms: int | None = None
    ) -> list[tuple[str, Event]]:
        stream = keys.events(self.namespace, job_id)
        reply = cast(
            "_StreamReply | None",
            await self._client.xread({stream: after}, count=count, block=block_ms),
        )
        events: list[tuple[str, Event]] = []
        for _name, entries in reply or []:
            for stream_id, fields in entries:
                raw = fields.get(keys.EVENT_FIELD.encode()) or fields[keys.EVENT_FIELD]
                events.append((text(stream_id), Event.model_validate_json(raw)))
        return events

    @translated
    async def put_call(self, job_id: str, key: str, value: str) -> None:
        await self._client.hset(keys.calls(self.namespace, job_id), key, value)

    @translated
    async def get_call(self, job_id: str, key: str) -> str | None:
        raw = await self._client.hget(keys.calls(self.namespace, job_id), key)
        return None if raw is None else text(raw)

    @translated
    async def get_cached(self, key: str) -> str | None:
        raw = await self._client.get(keys.cache_entry(self.namespace, key))
        return None if raw is None else text(raw)

    @translated
    async def put_cached(self, key: str, value: str) -> None:
        await self._client.set(keys.cache_entry(self.namespace, key), value)

    @translated
    async def delete_job(self, job_id: str) -> None:
        ns = self.namespace
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.delete(*keys.job_keys(ns, job_id), keys.cancel(ns, job_id))
            pipe.zrem(keys.jobs_index(ns), job_id)
            await pipe.execute()

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()


def _client_url(client: aioredis.Redis) -> str:
    """A URL describing where ``client`` connects, for messages."""
    kwargs = client.connection_pool.connection_kwargs
    db = kwargs.get("db", 0)
    if kwargs.get("path"):
        return f"unix://{kwargs['path']}?db={db}"
    return f"redis://{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{db}"
