"""Learning-from-Peers routing: which peers' summaries each reasoning path reads.

LeaP (Luo et al. 2025, "Learning from Peers in Reasoning Models", arXiv:2505.07787) has
every path summarize its reasoning every T tokens and routes each path the summaries of
``k`` peers, chosen by how similar the summaries are: ``dispersed`` (the k least similar:
the most different views), ``clustered`` (the k most similar) or ``hybrid`` (half of
each). Similarity is the paper's normalized edit
similarity, computed with the standard library's ``difflib`` ratio (a close,
dependency-free stand-in for normalized Levenshtein). Standard library only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from difflib import SequenceMatcher
from typing import Literal

Routing = Literal["dispersed", "clustered", "hybrid"]

PEERS_PROMPT = (
    "Here are short summaries from peers working on the same question in parallel:\n\n"
    "{summaries}\n\nCompare their reasoning with yours. If it shows a mistake in yours, "
    "correct it; if not, keep your line of reasoning. Then continue your reasoning where it "
    "stopped, without repeating it, and end with your final answer."
)


def summary_similarity(a: str, b: str) -> float:
    """Normalized edit similarity of two summaries, in [0, 1] (1: identical)."""
    return SequenceMatcher(None, a.casefold(), b.casefold(), autojunk=False).ratio()


def route(summaries: Sequence[str | None], k: int, routing: Routing) -> list[list[int]]:
    """For each path, the indices of the ``k`` peers whose summaries it reads.

    A path never reads itself, nor a peer without a summary (None); ``k`` is capped at
    the peers available. Ties in similarity go to the lower index, so routing is
    deterministic. ``hybrid`` takes ``ceil(k / 2)`` most similar, then the least similar.
    """
    if k < 1:
        raise ValueError(f"k {k!r} must be >= 1 (peers each path reads)")
    routes: list[list[int]] = []
    for i, own in enumerate(summaries):
        peers = [j for j, s in enumerate(summaries) if j != i and s is not None]
        if own is None or not peers:
            routes.append([])
            continue
        score = {j: summary_similarity(own, summaries[j] or "") for j in peers}
        similar = sorted(peers, key=lambda j: (-score[j], j))
        different = sorted(peers, key=lambda j: (score[j], j))
        if routing == "clustered":
            chosen = similar[:k]
        elif routing == "dispersed":
            chosen = different[:k]
        else:
            chosen = similar[: math.ceil(k / 2)]
            chosen += [j for j in different if j not in chosen][: k - len(chosen)]
        routes.append(sorted(chosen))
    return routes


def peers_prompt(summaries: Sequence[str]) -> str:
    """The user turn that hands a path its peers' summaries and asks it to go on."""
    block = "\n\n".join(f"Peer {i}: {s.strip()}" for i, s in enumerate(summaries, 1))
    return PEERS_PROMPT.format(summaries=block)
