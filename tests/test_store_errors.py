"""Opening a store fails with a message that names the URL, the reason and the fix."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis import exceptions as rexc
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff

from orchestrator.errors import ConfigError, StoreUnavailable
from orchestrator.job import JobRecord, JobRequest
from orchestrator.store.embedded import open_embedded_store
from orchestrator.store.factory import open_store
from orchestrator.store.redis_store import check_redis_url, describe_redis_error, redact_url

# Every test here waits on a server (the embedded Redis server starts): a hang fails it within 30 s,
# not the global 120 s.
pytestmark = pytest.mark.timeout(30)


def no_library_traceback(exc: BaseException) -> None:
    """The error a user sees carries no frames or chained exceptions from redis-py."""
    shown = "".join(traceback.format_exception(exc))
    assert "redis/" not in shown and "During handling" not in shown, shown
    assert exc.__cause__ is None


async def test_unreachable_server_names_url_reason_and_fix() -> None:
    with pytest.raises(StoreUnavailable) as caught:
        await open_store("redis://127.0.0.1:1/0", namespace="breadth")
    message = str(caught.value)
    assert "'redis://127.0.0.1:1/0'" in message
    assert "Connection refused" in message
    assert "`redis-server --port 1`" in message
    assert "unset BREADTH_REDIS_URL" in message
    no_library_traceback(caught.value)


async def test_missing_unix_socket_names_the_path() -> None:
    with pytest.raises(StoreUnavailable) as caught:
        await open_store("unix:///nonexistent-dir/redis.sock", namespace="breadth")
    assert "--unixsocket /nonexistent-dir/redis.sock" in str(caught.value)
    no_library_traceback(caught.value)


async def test_password_never_appears_in_messages() -> None:
    with pytest.raises(StoreUnavailable) as caught:
        await open_store("redis://worker:hunter2@127.0.0.1:1/0", namespace="breadth")
    assert "hunter2" not in str(caught.value)
    assert "'redis://worker:***@127.0.0.1:1/0'" in str(caught.value)
    with pytest.raises(ConfigError) as bad_scheme:
        await open_store("http://worker:hunter2@localhost:6379", namespace="breadth")
    assert "hunter2" not in str(bad_scheme.value)


async def test_wrong_credentials_on_the_real_server_are_redacted(redis_url: str) -> None:
    host = redis_url.removeprefix("redis://").split("/")[0].rsplit("@", 1)[-1]
    with pytest.raises(StoreUnavailable) as caught:
        await open_store(f"redis://nobody:hunter2@{host}/0", namespace="breadth")
    message = str(caught.value)
    assert "refused the credentials" in message and "hunter2" not in message
    no_library_traceback(caught.value)


@pytest.mark.parametrize(
    "url", ["http://localhost:6379", "postgres://db/breadth", "localhost:6379", "127.0.0.1"]
)
async def test_unknown_scheme_is_a_config_error_listing_the_accepted_ones(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        await open_store(url, namespace="breadth")
    message = str(caught.value)
    assert repr(url) in message
    assert all(scheme in message for scheme in ("redis://", "rediss://", "unix://"))
    assert "embedded store" in message


async def test_bad_namespace_is_refused_before_connecting(redis_url: str) -> None:
    with pytest.raises(ConfigError, match="namespace 'a:b'"):
        await open_store(redis_url, namespace="a:b")


async def test_unusable_data_dir_is_a_config_error(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    with pytest.raises(ConfigError) as caught:
        await open_store(None, namespace="breadth", data_dir=not_a_dir)
    assert repr(str(not_a_dir)) in str(caught.value)
    assert "BREADTH_HOME" in str(caught.value)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis://:6379/0", "names no host"),
        ("redis://localhost:port/0", "bad port"),
        ("unix://", "names no socket path"),
    ],
)
def test_malformed_urls_are_config_errors(url: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        check_redis_url(url)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://u:pw@h:1/0", "redis://u:***@h:1/0"),
        ("redis://:pw@h:1/0", "redis://:***@h:1/0"),
        ("unix:///run/r.sock?db=1&password=pw", "unix:///run/r.sock?db=1&password=***"),
        ("redis://h:1/0", "redis://h:1/0"),
    ],
)
def test_redact_url_hides_passwords(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_server_side_failures_say_what_to_do() -> None:
    url = "redis://u:pw@db.example:6379/0"
    cases = {
        rexc.ReadOnlyError("You can't write against a read only replica."): "the primary",
        rexc.OutOfMemoryError("OOM command not allowed"): "maxmemory",
        rexc.ResponseError("unknown command 'XADD'"): "Redis 5 or newer",
        rexc.ResponseError("WRONGTYPE Operation against a key"): "another --namespace",
        rexc.TimeoutError("Timeout connecting to server"): "db.example:6379",
    }
    for exc, fix in cases.items():
        message = str(describe_redis_error(exc, url))
        assert fix in message and "u:***@db.example" in message and ":pw@" not in message


async def test_embedded_store_whose_server_was_stopped_says_so(tmp_path: Path) -> None:
    store = await open_embedded_store(tmp_path)
    try:
        await store.put_job(JobRecord(id="kept", request=JobRequest(question="q")))
        # Someone stops the server behind the store's back (its data is saved).
        intruder = aioredis.Redis.from_url(store.url, retry=AsyncRetry(NoBackoff(), 0))
        await intruder.shutdown(save=True)
        await intruder.aclose()
        with pytest.raises(StoreUnavailable) as caught:
            await store.get_job("kept")
    finally:
        await store.aclose()
    assert repr(str(tmp_path.resolve())) in str(caught.value)
    assert "run the command again" in str(caught.value)
    no_library_traceback(caught.value)
    reopened = await open_embedded_store(tmp_path)
    try:
        assert await reopened.get_job("kept") is not None
    finally:
        await reopened.aclose()
