"""Which replica serves a request: least outstanding requests, with prefix affinity.

Pure logic over plain data (no I/O), so the pool's policy is tested in microseconds.
Sibling branches of one prompt share its prefix; sending them to the replica that
already holds that prefix in its KV cache saves the prefill, as long as that
replica is not much busier than the least loaded one.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence


def choose_replica(
    outstanding: Sequence[int],
    healthy: Sequence[bool],
    preferred: int | None,
    slack: int = 2,
    spread: int = 0,
) -> int:
    """Index of the replica to send the next request to.

    The least loaded healthy replica wins, except that ``preferred`` (the replica
    that served this prompt prefix before) keeps the request while it has at most
    ``slack`` more outstanding requests than that one. Among equally loaded
    replicas, ``spread`` (e.g. a hash of the prefix) picks one, so new prefixes
    spread over the replicas instead of piling onto the first.

    Raises ``ValueError`` when no replica is healthy.
    """
    if len(outstanding) != len(healthy):
        raise ValueError(
            f"outstanding ({len(outstanding)}) and healthy ({len(healthy)}) must have one "
            f"entry per replica"
        )
    candidates = [i for i, ok in enumerate(healthy) if ok]
    if not candidates:
        raise ValueError(f"no healthy replica among {len(healthy)}; the caller must wait or fail")
    lowest = min(outstanding[i] for i in candidates)
    if (
        preferred is not None
        and 0 <= preferred < len(healthy)
        and healthy[preferred]
        and outstanding[preferred] - lowest <= slack
    ):
        return preferred
    tied = [i for i in candidates if outstanding[i] == lowest]
    return tied[spread % len(tied)]


class PrefixAffinity:
    """A bounded LRU map from prompt-prefix key to the replica that last served it."""

    def __init__(self, capacity: int = 4096) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity!r}")
        self.capacity = capacity
        self._entries: OrderedDict[str, int] = OrderedDict()

    def get(self, key: str) -> int | None:
        index = self._entries.get(key)
        if index is not None:
            self._entries.move_to_end(key)
        return index

    def remember(self, key: str, replica: int) -> None:
        self._entries[key] = replica
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries
