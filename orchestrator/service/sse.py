"""A job's events as Server-Sent Events: each event's ``id`` is its Redis stream id.

A client that reconnects with ``Last-Event-ID`` gets the events after that id, so it
sees every event exactly once. When the job has reached a final state and its last
events are sent, an ``end`` event (with the final state) closes the stream.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator

from orchestrator.service.problems import ApiProblem
from orchestrator.store.base import Store
from orchestrator.store.queue import FINAL_STATES

STREAM_ID = re.compile(r"^(0|\d{1,20}-\d{1,20})$")
TERMINAL_EVENTS = ("job_finished", "job_failed", "job_cancelled")
BLOCK_MS = 1000
PING_S = 15.0


def check_last_event_id(value: str | None) -> str:
    """The stream id to resume after ("0": from the start); a 400 problem if malformed."""
    if value is None or value == "":
        return "0"
    if not STREAM_ID.match(value):
        raise ApiProblem(
            400,
            f"Last-Event-ID {value[:60]!r} is not an event id of this stream: ids look like "
            f"'1712345678901-0' (the id of the last event you received); leave it out to "
            f"start from the first event",
            slug="bad-last-event-id",
        )
    return value


def sse_message(event_id: str | None, event: str, data: str) -> bytes:
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    lines.extend(f"data: {line}" for line in data.splitlines() or [""])
    return ("\n".join(lines) + "\n\n").encode()


async def event_stream(store: Store, job_id: str, after: str) -> AsyncIterator[bytes]:
    """The SSE body: events after ``after``, until the job is final and drained."""
    last_sent = time.monotonic()
    while True:
        record = await store.get_job(job_id)
        final = record is None or record.state in FINAL_STATES
        batch = await store.read_events(job_id, after, count=500, block_ms=BLOCK_MS)
        for stream_id, event in batch:
            after = stream_id
            yield sse_message(stream_id, event.type, event.model_dump_json())
        if batch:
            last_sent = time.monotonic()
        terminal = any(event.type in TERMINAL_EVENTS for _, event in batch)
        if final and (terminal or not batch):
            state = record.state if record is not None else "deleted"
            yield sse_message(None, "end", json.dumps({"job_id": job_id, "state": state}))
            return
        if time.monotonic() - last_sent >= PING_S:
            last_sent = time.monotonic()
            yield b": ping\n\n"
