"""Whether a finding's cited documents say what the finding claims (pure: text in, ids out).

A small model cites a document id it saw for a claim it made up, or for a claim another
document supports. A citation is kept only when the text the researcher saw of that
document (its search snippet, the windows it read) holds at least half of the claim's
meaningful words; a claim none of its citations supports is moved to the seen document
that supports it best, if any does, else it stays uncited.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from agents.plan_quality import content_words

SUPPORT_SHARE = 0.5


def support(claim: str, text: str) -> float:
    """The share of the claim's meaningful words (stemmed) that ``text`` holds (0 to 1)."""
    wanted = set(content_words(claim))
    if not wanted:
        return 0.0
    return len(wanted & set(content_words(text))) / len(wanted)


def supports(claim: str, text: str) -> bool:
    """Whether ``text`` holds at least half (and at least one) of the claim's meaningful words."""
    wanted = set(content_words(claim))
    needed = max(1, math.ceil(SUPPORT_SHARE * len(wanted)))
    return bool(wanted) and len(wanted & set(content_words(text))) >= needed


def grounded_ids(claim: str, cited: Sequence[str], seen: Mapping[str, str]) -> list[str]:
    """The citations of ``claim`` that its documents support.

    ``seen`` maps each document id to the text seen of it. An id with no seen text (a
    dependency's source, known by its title only) cannot be checked and is kept. When
    no citation is supported, the best-supported seen document is cited instead, or
    nothing when none supports the claim.
    """
    kept = [i for i in cited if i not in seen or supports(claim, seen[i])]
    if kept:
        return list(dict.fromkeys(kept))
    candidates = [(support(claim, text), doc_id) for doc_id, text in seen.items()]
    best = max(candidates, key=lambda pair: pair[0], default=(0.0, ""))
    return [best[1]] if best[1] and supports(claim, seen[best[1]]) else []


def merge_hits(results: Sequence[str], limit: int) -> str:
    """Search results of several queries as one list: taken in turn, each document once.

    ``results`` are ``search`` replies ("[doc-id] Title — snippet" lines), the most
    specific query's first: its best hit leads, then the next query's best, and so on.
    """
    queues = [
        [line for line in text.splitlines() if line.startswith("[") and "]" in line]
        for text in results
    ]
    merged: dict[str, str] = {}
    while len(merged) < limit and any(queues):
        for queue in queues:
            while queue:
                line = queue.pop(0)
                doc_id = line[1 : line.index("]")]
                if doc_id not in merged:
                    merged[doc_id] = line
                    break
            if len(merged) == limit:
                break
    return "\n".join(merged.values())


def extract_findings(question: str, seen: Mapping[str, str], limit: int) -> list[dict[str, Any]]:
    """Sentences quoted from the documents seen, each the one that best matches ``question``.

    The researcher's last resort when the model gave no finding a document supports: up
    to ``limit`` documents (in the order seen) each give their sentence sharing the most
    of the question's meaningful words (at least one), cited to that document.
    """
    wanted = set(content_words(question))
    found: list[dict[str, Any]] = []
    for doc_id, text in seen.items():
        body = text.split(" — ", 1)[-1] if text.startswith("[") else text
        scored = [
            (len(wanted & set(content_words(sentence))), sentence) for sentence in _sentences(body)
        ]
        best = max(scored, key=lambda pair: pair[0], default=(0, ""))
        if best[0] >= 1:
            found.append({"claim": best[1], "source_ids": [doc_id]})
        if len(found) == limit:
            break
    return found


def _sentences(text: str) -> list[str]:
    """Whole sentences of a snippet (cut ends marked "…" dropped), 30 to 250 characters."""
    flat = " ".join(text.replace("…", " … ").split())
    parts = re.split(r"(?<=[.!?])\s+", flat)
    return [
        p.strip()
        for p in parts
        if 30 <= len(p.strip()) <= 250
        and "…" not in p
        and p.strip()[:1].isupper()
        and p.strip()[-1] in ".!?"
    ]
