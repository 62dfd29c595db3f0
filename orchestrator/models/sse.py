"""Server-sent events, the framing of OpenAI-style streaming: encode on the server, decode
on the client. Pure: works on strings and async line iterators, no network code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

DONE = "[DONE]"


def encode_data(data: str) -> bytes:
    """One SSE event carrying ``data`` (which must not contain newlines)."""
    return f"data: {data}\n\n".encode()


async def iter_data(lines: AsyncIterator[str]) -> AsyncIterator[str]:
    """The ``data`` payload of each event in a stream of SSE lines.

    Multi-line data fields are joined with newlines (as the SSE spec says);
    comments, ``event:``/``id:``/``retry:`` fields and empty events are skipped.
    """
    buffer: list[str] = []
    async for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if buffer:
                yield "\n".join(buffer)
                buffer = []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if field == "data":
            buffer.append(value.removeprefix(" "))
    if buffer:
        yield "\n".join(buffer)
