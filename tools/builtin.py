"""The built-in research tools over a corpus: ``search`` (BM25) and ``read`` (a text window)."""

from __future__ import annotations

import weakref
from typing import Annotated

from pydantic import Field

from orchestrator.errors import ToolError
from tools.bm25 import BM25Index, snippet, tokenize
from tools.corpus import Corpus
from tools.pages import PageShelf, document_window
from tools.registry import ToolRegistry, tool

SNIPPET_WIDTH = 240
MAX_RESULTS = 10
MAX_READ = 20_000

# One index per live corpus: the built-in corpus is shared by every job of a process.
_indexes: weakref.WeakKeyDictionary[Corpus, BM25Index] = weakref.WeakKeyDictionary()


def corpus_index(corpus: Corpus) -> BM25Index:
    """The BM25 index of ``corpus``, built on first use and kept while the corpus lives."""
    index = _indexes.get(corpus)
    if index is None:
        index = _indexes[corpus] = BM25Index(corpus.documents)
    return index


def corpus_tools(corpus: Corpus, pages: PageShelf | None = None) -> ToolRegistry:
    """A registry with the ``search`` and ``read`` tools over ``corpus``.

    With ``pages`` (the job's fetched web pages), ``read`` reads those by id too.
    """
    index = corpus_index(corpus)

    @tool
    def search(
        query: str,
        k: Annotated[int, Field(ge=1, le=MAX_RESULTS)] = 5,
    ) -> str:
        """Search the corpus for documents about a topic; returns ids, titles and snippets.

        Each result line reads "[doc-id] Title — snippet"; pass the doc-id to read to see
        the full text.

        Args:
            query: keywords to look for, e.g. "with statement context manager".
            k: how many results to return, best first (1-10).
        """
        if not tokenize(query):
            raise ToolError(
                f"query {query!r} has no searchable words (only stopwords, punctuation or "
                f"single letters); search with content words such as names and terms"
            )
        results = index.search(query, k)
        if not results:
            return f"no document matches {query!r}; try other or fewer keywords"
        return "\n".join(
            f"[{doc.id}] {doc.title} — {snippet(doc, query, SNIPPET_WIDTH)}" for doc, _ in results
        )

    @tool
    def read(
        doc_id: str,
        offset: Annotated[int, Field(ge=0)] = 0,
        length: Annotated[int, Field(ge=1, le=MAX_READ)] = 2000,
    ) -> str:
        """Read a document's text by id, a window of characters at a time.

        The reply ends with how many characters remain and the offset to read them.

        Args:
            doc_id: the id of a document, as shown in brackets in the search results.
            offset: the character to start at (0 for the beginning).
            length: how many characters to return (1-20000).
        """
        page = pages.get(doc_id) if pages is not None else None
        if page is not None:
            return document_window(
                page, offset, length, more=lambda end: f"read(doc_id={doc_id!r}, offset={end})"
            )
        doc = corpus.get(doc_id)
        total = len(doc.text)
        if offset >= total > 0:
            raise ToolError(
                f"offset {offset} is past the end of {doc_id!r} ({total} characters); "
                f"pass an offset below {total}"
            )
        end = min(total, offset + length)
        header = f"[{doc.id}] {doc.title} (characters {offset}-{end} of {total})"
        remaining = total - end
        footer = (
            f"[{remaining} more characters: read(doc_id={doc.id!r}, offset={end})]"
            if remaining
            else "[end of document]"
        )
        return f"{header}\n\n{doc.text[offset:end]}\n\n{footer}"

    return ToolRegistry([search, read])
