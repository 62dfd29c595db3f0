"""Keyword search over a corpus: a BM25 index and query-focused snippets (pure, no I/O)."""

from __future__ import annotations

import keyword
import math
import re
from collections import Counter
from collections.abc import Sequence

from rank_bm25 import BM25Okapi

from tools.corpus import Document

_WORD = re.compile(r"[A-Za-z0-9_]+")
_UNDERLINE = re.compile(r"^[ \t]*([*=~^#-])\1{2,}[ \t]*$", re.MULTILINE)
# A title counts this many times as much as a word of the body: a document named after
# the query ("The 'with' statement") should beat one that mentions it in passing.
TITLE_WEIGHT = 3

# Common English function words. Python keywords are kept even where they are English
# ("with", "for", "if", "is"): in technical text they are the words people search for,
# and BM25's idf already discounts them where they are everywhere.
_ENGLISH_STOPWORDS = """
a about above after again all also am an any are at be been before being below between both
but by can could did do does doing down during each few further had has have having he her
here hers him his how i into it its itself just me more most my no nor of off on once only
other our ours out over own same she should so some such than that the their theirs them
then there these they this those through to too under until up very was we were what when
where which who whom why will would you your yours
"""
STOPWORDS = (
    frozenset(_ENGLISH_STOPWORDS.split())
    - frozenset(keyword.kwlist)
    - frozenset(keyword.softkwlist)
)


def stem(word: str) -> str:
    """A light English stemmer: folds plurals ("classes" → "class", "entries" → "entry")."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def normalize(word: str) -> str | None:
    """The index term for one word, or None for a stopword or a one-letter word."""
    lowered = word.lower()
    if len(lowered) < 2 or lowered in STOPWORDS:
        return None
    return stem(lowered)


def tokenize(text: str) -> list[str]:
    """The index terms of ``text``: lowercase words, stopwords dropped, plurals folded."""
    return [term for word in _WORD.findall(text) if (term := normalize(word)) is not None]


class _LuceneBM25(BM25Okapi):  # type: ignore[misc]  # rank_bm25 has no type hints
    """BM25Okapi with Lucene's idf, log(1 + (N - n + 0.5) / (n + 0.5)), which is always
    positive: rank_bm25's own idf is zero or negative for a word in half the documents,
    so in a two-document corpus no word could ever rank one above the other."""

    def _calc_idf(self, nd: dict[str, int]) -> None:
        for word, freq in nd.items():
            self.idf[word] = math.log(1 + (self.corpus_size - freq + 0.5) / (freq + 0.5))


class BM25Index:
    """A BM25 index over documents' titles and texts."""

    def __init__(self, documents: Sequence[Document]) -> None:
        self.documents = list(documents)
        tokenized = [tokenize(doc.title) * TITLE_WEIGHT + tokenize(doc.text) for doc in documents]
        # rank_bm25 divides by the average length: an index of nothing matches nothing.
        self._bm25 = _LuceneBM25(tokenized) if any(tokenized) else None

    def search(self, query: str, k: int = 5) -> list[tuple[Document, float]]:
        """The ``k`` best documents for ``query``, best first; only documents that match a term."""
        terms = tokenize(query)
        if self._bm25 is None or not terms or k < 1:
            return []
        scores = [float(score) for score in self._bm25.get_scores(terms)]
        ranked = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
        return [(self.documents[i], scores[i]) for i in ranked[:k] if scores[i] > 0]


def snippet(doc: Document, query: str, width: int = 300) -> str:
    """About ``width`` characters of ``doc``'s text around the densest cluster of query terms.

    The window covering the most distinct query terms wins (then the most matches, then
    the earliest); with no match it is the start of the text. Whitespace is collapsed and
    "…" marks cut ends.
    """
    text = _UNDERLINE.sub("", doc.text)
    terms = set(tokenize(query))
    hits = [
        (match.start(), term)
        for match in _WORD.finditer(text)
        if (term := normalize(match.group())) is not None and term in terms
    ]
    start = _best_window_start(hits, width) if hits else 0
    # A little context before the first match; near the top, just start at the top.
    start = 0 if start <= width // 3 else start - width // 5
    if start > 0:
        # Start after a space, so the snippet does not begin mid-word.
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < start + width // 5 else start
    end = min(len(text), start + width)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start + width // 2 else end
    body = " ".join(text[start:end].split())
    return ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")


def _best_window_start(hits: list[tuple[int, str]], width: int) -> int:
    """The offset of the hit that starts the best ``width``-character window (sliding window)."""
    span = max(1, width - width // 5)
    best_key: tuple[int, int, int] | None = None
    best_start = hits[0][0]
    inside: Counter[str] = Counter()
    right = 0
    for left, (position, _term) in enumerate(hits):
        while right < len(hits) and hits[right][0] < position + span:
            inside[hits[right][1]] += 1
            right += 1
        key = (len(inside), right - left, -position)
        if best_key is None or key > best_key:
            best_key, best_start = key, position
        term = hits[left][1]
        inside[term] -= 1
        if not inside[term]:
            del inside[term]
    return best_start
