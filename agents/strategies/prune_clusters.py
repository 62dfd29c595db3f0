"""DeepPrune's online greedy clustering of partial traces, and the vote of the survivors.

DeepPrune (Tu et al. 2025, "DeepPrune: Parallel Scaling without Inter-trace Redundancy",
arXiv:2510.08483) predicts from two partial reasoning traces whether they will reach the
same final answer, and clusters traces online and greedily: each new trace is compared
with one representative of every cluster so far, joins the first cluster it is predicted
to agree with (and is stopped, being redundant), or opens a new cluster and runs on. The
survivors' answers are then voted on.

``GreedyClusters`` is that bookkeeping; the comparison itself (a judge model, the answer a
prefix already states, or text overlap) is the operator's. ``survivor_vote`` weights each
surviving trace by the members of its cluster it stands for, so a cluster of six traces
that agree counts as six votes, not one (our choice: the pruned traces were predicted to
reach the representative's answer; voting with one vote per cluster would throw away the
very majority information self-consistency relies on). Standard library and pydantic only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from agents.strategies.extract import ExtractMethod, extract_answer
from agents.strategies.semantic_entropy import text_similarity
from agents.strategies.vote_tally import VoteResult, majority_vote

Placement = Literal["new", "kept", "pruned"]


@dataclass
class Cluster:
    """Traces predicted to reach one answer: the first is the representative."""

    members: list[int] = field(default_factory=list)
    running: list[int] = field(default_factory=list)

    @property
    def representative(self) -> int:
        return self.members[0]


class GreedyClusters:
    """Online greedy clustering: each arriving trace joins a matching cluster or opens one.

    A trace that joins a cluster keeps running while the cluster has fewer than
    ``keep_per_cluster`` running members, else it is pruned. A trace that finished before
    it was compared is placed the same way but never pruned (it costs nothing more).
    """

    def __init__(self, keep_per_cluster: int = 1) -> None:
        if keep_per_cluster < 1:
            raise ValueError(f"keep_per_cluster {keep_per_cluster!r} must be >= 1")
        self.keep_per_cluster = keep_per_cluster
        self.clusters: list[Cluster] = []
        self.cluster_of: dict[int, int] = {}

    def representatives(self) -> list[int]:
        """Each cluster's representative, in the order the clusters opened."""
        return [c.representative for c in self.clusters]

    def place(self, trace: int, match: int | None, *, finished: bool = False) -> Placement:
        """Put ``trace`` in cluster ``match`` (an index into ``clusters``) or a new one."""
        if trace in self.cluster_of:
            raise ValueError(f"trace {trace!r} is already in cluster {self.cluster_of[trace]}")
        if match is None:
            self.clusters.append(Cluster([trace], [trace]))
            self.cluster_of[trace] = len(self.clusters) - 1
            return "new"
        if not 0 <= match < len(self.clusters):
            raise ValueError(f"cluster {match!r} does not exist; there are {len(self.clusters)}")
        cluster = self.clusters[match]
        cluster.members.append(trace)
        self.cluster_of[trace] = match
        if finished or len(cluster.running) < self.keep_per_cluster:
            cluster.running.append(trace)
            return "kept"
        return "pruned"

    def weights(self) -> dict[int, float]:
        """Each running trace's vote weight: its cluster's size shared among its runners."""
        out: dict[int, float] = {}
        for cluster in self.clusters:
            for trace in cluster.running:
                out[trace] = len(cluster.members) / len(cluster.running)
        return out


def first_match(verdicts: Sequence[bool | None]) -> int | None:
    """The first cluster a trace was judged to agree with (None: it agrees with none)."""
    return next((i for i, same in enumerate(verdicts) if same), None)


def same_by_answer(
    a: str,
    b: str,
    method: ExtractMethod,
    *,
    pattern: str | None = None,
    field: str | None = None,
) -> bool:
    """Whether two prefixes already state the same answer (one without an answer: no)."""
    left = extract_answer(a, method, pattern=pattern, field=field)
    right = extract_answer(b, method, pattern=pattern, field=field)
    return left is not None and left == right


def same_by_text(a: str, b: str, threshold: float) -> bool:
    """Whether two prefixes overlap in words (Jaccard) by at least ``threshold``."""
    return text_similarity(a, b) >= threshold


def read_same(reply: str) -> bool | None:
    """A judge's verdict from its reply: JSON ``same``, else a leading yes / no; None if neither."""
    start, end = reply.find("{"), reply.rfind("}")
    if 0 <= start < end:
        try:
            data = json.loads(reply[start : end + 1])
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("same"), bool):
            return bool(data["same"])
    word = reply.strip().split(maxsplit=1)[0].strip(".,!:;").casefold() if reply.strip() else ""
    if word in ("yes", "same", "true"):
        return True
    if word in ("no", "different", "false"):
        return False
    return None


def survivor_vote(answers: Mapping[int, str | None], weights: Mapping[int, float]) -> VoteResult:
    """Weighted majority over the surviving traces' answers (weight 1 for unknown traces)."""
    traces = list(answers)
    return majority_vote([answers[t] for t in traces], [weights.get(t, 1.0) for t in traces])
