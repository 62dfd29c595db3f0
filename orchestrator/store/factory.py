"""Opens the store a user chose: a Redis server by URL, else the embedded store."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from orchestrator.errors import ConfigError
from orchestrator.settings import Settings
from orchestrator.store.base import Store
from orchestrator.store.redis_store import URL_SCHEMES, RedisStore, redact_url


async def open_store(
    url: str | None, *, namespace: str = "breadth", data_dir: Path | None = None
) -> Store:
    """The Redis server at ``url`` (pinged now), or the embedded store in ``data_dir``.

    No URL means the embedded store, which needs no server; see
    ``orchestrator.store.embedded``. An unreachable server raises ``StoreUnavailable``.
    """
    if not url:
        from orchestrator.store.embedded import open_embedded_store

        return await open_embedded_store(data_dir, namespace)
    scheme = urlsplit(url).scheme
    if scheme not in URL_SCHEMES:
        accepted = ", ".join(f"{name}://" for name in URL_SCHEMES)
        raise ConfigError(
            f"store URL {redact_url(url)!r} has scheme {scheme!r}; the store must be a Redis "
            f"server ({accepted}), e.g. redis://127.0.0.1:6379/0; or leave out --redis-url "
            f"and unset BREADTH_REDIS_URL to use the embedded store"
        )
    return await RedisStore.connect(url, namespace)


async def open_settings_store(settings: Settings) -> Store:
    """The store ``settings`` name: its Redis URL, else the embedded store in its data dir."""
    return await open_store(
        settings.redis_url,
        namespace=settings.namespace,
        data_dir=Path(settings.data_dir) if settings.data_dir else None,
    )
