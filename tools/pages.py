"""Fetched web pages as citable documents: ids, titles and text windows (pure, no I/O).

A job keeps every page it fetched on a ``PageShelf``, so ``read`` reads a fetched page
by its id like a corpus document, and the researcher's notebook and the synthesizer
cite it like one. A page's id is derived from its final URL alone (``web/host/path``),
so the same page gets the same id in every run (which a cached or replayed job needs).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from urllib.parse import urlsplit

from orchestrator.errors import ToolError
from tools.corpus import Document

WEB_PREFIX = "web/"
MAX_ID_CHARS = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9._/-]+")


def page_id(url: str) -> str:
    """A short stable id for ``url``: ``web/`` + host + path, hashed when cut or queried."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.port is not None:
        host += f"-{parts.port}"
    path = parts.path.rstrip("/")
    readable = _UNSAFE.sub("-", f"{host}{path}").strip("-/") or "page"
    needs_hash = bool(parts.query) or len(readable) > MAX_ID_CHARS - len(WEB_PREFIX)
    if needs_hash:
        digest = hashlib.sha256(url.encode()).hexdigest()[:8]
        readable = f"{readable[: MAX_ID_CHARS - len(WEB_PREFIX) - 9]}-{digest}"
    return WEB_PREFIX + readable


def document_window(doc: Document, offset: int, length: int, *, more: Callable[[int], str]) -> str:
    """A window of ``doc``'s text with the header ``read`` uses (``[id] Title (characters
    a-b of n)``) and a footer naming how to read on (``more`` of the next offset)."""
    total = len(doc.text)
    if offset >= total > 0:
        raise ToolError(
            f"offset {offset} is past the end of {doc.id!r} ({total} characters); "
            f"pass an offset below {total}"
        )
    end = min(total, offset + length)
    header = f"[{doc.id}] {doc.title} (characters {offset}-{end} of {total})"
    if doc.path:
        header += f"\nURL: {doc.path}"
    remaining = total - end
    footer = f"[{remaining} more characters: {more(end)}]" if remaining else "[end of document]"
    return f"{header}\n\n{doc.text[offset:end]}\n\n{footer}"


class PageShelf:
    """The pages one job fetched, by id and by URL (requested and final)."""

    def __init__(self) -> None:
        self._by_id: dict[str, Document] = {}
        self._by_url: dict[str, str] = {}

    def add(self, requested_url: str, final_url: str, title: str, text: str) -> Document:
        """Keep a fetched page (the latest fetch of a URL wins) and return it as a document."""
        doc_id = page_id(final_url)
        doc = Document(id=doc_id, title=title or final_url, text=text, path=final_url)
        self._by_id[doc_id] = doc
        self._by_url[requested_url] = self._by_url[final_url] = doc_id
        return doc

    def by_url(self, url: str) -> Document | None:
        doc_id = self._by_url.get(url)
        return None if doc_id is None else self._by_id[doc_id]

    def get(self, doc_id: str) -> Document | None:
        return self._by_id.get(doc_id)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)
