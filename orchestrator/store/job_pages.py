"""Jobs listed a page at a time, newest first, optionally by state, with an opaque cursor.

A cursor names the last job of a page (its creation time and id), so pages stay right
while new jobs arrive. At most ``SCAN_FACTOR`` times a page's size is read per page: a
rare state may give a short page with a cursor to go on from.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from orchestrator.errors import ConfigError
from orchestrator.job import JobRecord, JobState
from orchestrator.store import keys
from orchestrator.store.redis_store import text

SCAN_FACTOR = 20


@dataclass(frozen=True)
class JobPage:
    jobs: list[JobRecord]
    next_cursor: str | None


def encode_cursor(created_at: float, job_id: str) -> str:
    raw = f"{created_at!r} {job_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[float, str]:
    """The (creation time, job id) a cursor names; ``ConfigError`` for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        score, job_id = raw.split(" ", 1)
        value = float(score)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ConfigError(
            f"cursor {cursor[:100]!r} is not one this service gave out; pass the next_cursor "
            f"of the previous page as it is, or leave it out for the first page"
        ) from None
    if value != value or not job_id:  # NaN, or no id
        raise ConfigError(f"cursor {cursor[:100]!r} is damaged; leave it out to start again")
    return value, job_id


async def list_job_page(
    client: aioredis.Redis,
    namespace: str,
    *,
    limit: int,
    state: JobState | None = None,
    cursor: str | None = None,
) -> JobPage:
    """Up to ``limit`` jobs of ``namespace`` after ``cursor``, newest first."""
    after = decode_cursor(cursor) if cursor else None
    index = keys.jobs_index(namespace)
    top: Any = "+inf" if after is None else after[0]
    jobs: list[JobRecord] = []
    offset, scanned, last = 0, 0, after
    while len(jobs) < limit and scanned < limit * SCAN_FACTOR:
        batch: list[Any] = await client.zrevrangebyscore(
            index, top, "-inf", start=offset, num=max(limit, 50), withscores=True
        )
        if not batch:
            return JobPage(jobs, None)
        offset += len(batch)
        ids: list[tuple[str, float]] = []
        for member, score in batch:
            job_id = text(member)
            if after is not None and score == after[0] and job_id >= after[1]:
                continue
            ids.append((job_id, float(score)))
        raws = await client.mget([keys.job(namespace, job_id) for job_id, _ in ids]) if ids else []
        for (job_id, score), raw in zip(ids, raws, strict=True):
            scanned += 1
            last = (score, job_id)
            if raw is None:
                continue
            record = JobRecord.model_validate_json(raw)
            if state is None or record.state == state:
                jobs.append(record)
                if len(jobs) == limit:
                    break
    return JobPage(jobs, None if last is None else encode_cursor(*last))
