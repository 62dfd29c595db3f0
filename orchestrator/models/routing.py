"""Which replica serves a request: least outstanding requests, with prefix affinity.

``choose_replica`` is the simple rule (least loaded, the prefix's replica within slack);
the routers below (``RoundRobin``, ``LeastLoaded``, ``PrefixAware``) are the policies a
``ModelPool`` takes, ``PrefixAware`` by default.

Pure logic over plain data (no I/O), so the pool's policy is tested in microseconds.
Sibling branches of one prompt share its prefix; sending them to the replica that
already holds that prefix in its KV cache saves the prefill, as long as that
replica is not much busier than the least loaded one.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol


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


# -- prefix-aware routing across a fleet ------------------------------------------------
#
# Modelled on Ray Serve's ``PrefixCacheAffinityRouter`` (ray.llm._internal.serve.
# routing_policies.prefix_aware) and llm-d's prefix-cache and load scorers (the Gateway
# API Inference Extension's ``prefix`` plugin and queue scorer). Where ours differs:
# - Like llm-d, a prompt is cut into fixed-size blocks hashed in a chain, and each
#   replica has a bounded LRU index of the blocks routed to it (an estimate of its KV
#   cache); Ray Serve keeps a character prefix tree in a shared actor instead.
# - Like Ray Serve, load wins outright when the replicas are imbalanced (busiest minus
#   least busy above ``imbalance``), and a best match below ``match_threshold`` routes by
#   load; Ray Serve then picks the replica with the smallest tree, we the least loaded
#   (smallest index among equals). Otherwise, like llm-d, only replicas within ``slack``
#   of the least loaded are kept (its low-queue filter) and prefix match and load are
#   scored together (weighted sum, load min-max normalised), instead of Ray Serve's
#   "best match, then fewest queued".
# - Load is this process's outstanding requests per replica, not a probe of each
#   replica's queue (Ray Serve) or scraped server metrics (llm-d): each process that
#   holds a pool (the job's, each Ray worker's) balances its own requests.
# - Sibling branches of one operator (the samples of a vote, a debate round's agents)
#   share the prompt up to their last message (``GenerateRequest.prefix_key``). They are
#   sent together, before the first has been prefilled, so a block index alone would
#   scatter them; the replica that took the first sibling keeps the others while it is
#   at most ``slack`` requests busier than the least loaded one. Neither reference has
#   this rule; it is what keeps a prefix shorter than one block together too.

BLOCK_CHARS = 32
"""Characters per prompt block: about 8 tokens, finer than vLLM's 16-token KV blocks, so
that short shared prompts (a system prompt and a question) count as a prefix too."""

RouteReason = Literal["sibling", "prefix", "load", "turn"]


def prompt_text(messages: Sequence[tuple[str, str]]) -> str:
    """The text a replica prefills for ``(role, content)`` messages, for block hashing."""
    return "".join(f"<{role}>{content}\n" for role, content in messages)


def prompt_blocks(text: str, block_chars: int = BLOCK_CHARS) -> list[str]:
    """Chained hashes of the full ``block_chars`` blocks of ``text`` (a partial block: none).

    Block ``i``'s hash covers blocks ``0..i``, so equal hashes mean equal prefixes.
    """
    if block_chars < 1:
        raise ValueError(f"block_chars must be at least 1, got {block_chars!r}")
    blocks: list[str] = []
    previous = b""
    for start in range(0, len(text) - block_chars + 1, block_chars):
        digest = hashlib.blake2b(
            previous + text[start : start + block_chars].encode(), digest_size=8
        ).digest()
        blocks.append(digest.hex())
        previous = digest
    return blocks


class BlockIndex:
    """Per replica, a bounded LRU set of the prompt blocks it was sent (its likely KV cache)."""

    def __init__(self, replicas: int, capacity_blocks: int = 65_536) -> None:
        if capacity_blocks < 1:
            raise ValueError(f"capacity_blocks must be at least 1, got {capacity_blocks!r}")
        self.capacity = capacity_blocks
        self._held: list[OrderedDict[str, None]] = [OrderedDict() for _ in range(replicas)]

    def matched(self, replica: int, blocks: Sequence[str]) -> int:
        """How many leading ``blocks`` the replica holds."""
        held = self._held[replica]
        count = 0
        for block in blocks:
            if block not in held:
                break
            count += 1
        return count

    def insert(self, replica: int, blocks: Sequence[str]) -> None:
        held = self._held[replica]
        for block in blocks:
            held[block] = None
            held.move_to_end(block)
        while len(held) > self.capacity:
            held.popitem(last=False)

    def size(self, replica: int) -> int:
        return len(self._held[replica])


@dataclass(frozen=True)
class RouteRequest:
    """What routing needs of a request: its sibling key and its prompt's block hashes."""

    key: str
    blocks: tuple[str, ...]

    @property
    def spread(self) -> int:
        """A number from the key, to spread ties over replicas the same way each time."""
        return int(hashlib.blake2b(self.key.encode(), digest_size=4).hexdigest(), 16)


@dataclass(frozen=True)
class Route:
    index: int
    reason: RouteReason


class Router(Protocol):
    """A routing policy: picks a replica for a request, then learns where it went."""

    name: str

    def choose(
        self, request: RouteRequest, outstanding: Sequence[int], eligible: Sequence[bool]
    ) -> Route: ...

    def observe(self, request: RouteRequest, index: int) -> None: ...


def _least_loaded(
    outstanding: Sequence[int], eligible: Sequence[bool], spread: int, tie: Sequence[int] = ()
) -> int:
    candidates = [i for i, ok in enumerate(eligible) if ok]
    if not candidates:
        raise ValueError(f"no healthy replica among {len(eligible)}; the caller must wait or fail")
    lowest = min(outstanding[i] for i in candidates)
    tied = [i for i in candidates if outstanding[i] == lowest]
    if tie:
        fewest = min(tie[i] for i in tied)
        tied = [i for i in tied if tie[i] == fewest]
    return tied[spread % len(tied)]


class RoundRobin:
    """Each eligible replica in turn, blind to load and prefixes (the baseline)."""

    name = "round_robin"

    def __init__(self) -> None:
        self._next = 0

    def choose(
        self, request: RouteRequest, outstanding: Sequence[int], eligible: Sequence[bool]
    ) -> Route:
        count = len(eligible)
        for step in range(count):
            index = (self._next + step) % count
            if eligible[index]:
                self._next = index + 1
                return Route(index, "turn")
        raise ValueError(f"no healthy replica among {count}; the caller must wait or fail")

    def observe(self, request: RouteRequest, index: int) -> None:
        return None


class LeastLoaded:
    """The replica with the fewest outstanding requests (ties spread by the prefix key)."""

    name = "least_loaded"

    def choose(
        self, request: RouteRequest, outstanding: Sequence[int], eligible: Sequence[bool]
    ) -> Route:
        return Route(_least_loaded(outstanding, eligible, request.spread), "load")

    def observe(self, request: RouteRequest, index: int) -> None:
        return None


class PrefixAware:
    """Prefix affinity and load scored together; load alone when the fleet is imbalanced.

    See the notes above ``BLOCK_CHARS`` for the rules and how they differ from Ray Serve's
    and llm-d's.
    """

    name = "prefix_aware"

    def __init__(
        self,
        replicas: int,
        *,
        slack: int = 2,
        imbalance: int = 8,
        match_threshold: float = 0.1,
        prefix_weight: float = 2.0,
        load_weight: float = 1.0,
        affinity_capacity: int = 4096,
        capacity_blocks: int = 65_536,
    ) -> None:
        self.slack = slack
        self.imbalance = imbalance
        self.match_threshold = match_threshold
        self.prefix_weight = prefix_weight
        self.load_weight = load_weight
        self.siblings = PrefixAffinity(affinity_capacity)
        self.index = BlockIndex(replicas, capacity_blocks)

    def choose(
        self, request: RouteRequest, outstanding: Sequence[int], eligible: Sequence[bool]
    ) -> Route:
        candidates = [i for i, ok in enumerate(eligible) if ok]
        if not candidates:
            raise ValueError(
                f"no healthy replica among {len(eligible)}; the caller must wait or fail"
            )
        loads = [outstanding[i] for i in candidates]
        lowest, highest = min(loads), max(loads)
        sibling = self.siblings.get(request.key)
        if (
            sibling is not None
            and 0 <= sibling < len(eligible)
            and eligible[sibling]
            and outstanding[sibling] - lowest <= self.slack
        ):
            return Route(sibling, "sibling")
        sizes = [self.index.size(i) for i in range(len(eligible))]
        by_load = Route(_least_loaded(outstanding, eligible, request.spread, sizes), "load")
        if highest - lowest > self.imbalance or not request.blocks:
            return by_load
        # Like llm-d's low-queue filter: only replicas within ``slack`` of the least
        # loaded are scored, so a prefix never draws a request onto a busy replica.
        near = [i for i in candidates if outstanding[i] - lowest <= self.slack]
        total = len(request.blocks)
        match = {i: self.index.matched(i, request.blocks) / total for i in near}
        if max(match.values()) < self.match_threshold:
            return by_load
        span = max(max(outstanding[i] for i in near) - lowest, 1)
        scores = {
            i: self.prefix_weight * match[i]
            + self.load_weight * (1.0 - (outstanding[i] - lowest) / span)
            for i in near
        }
        best = max(scores.values())
        tied = [i for i in near if scores[i] == best]
        index = tied[request.spread % len(tied)]
        return Route(index, "prefix" if match[index] > 0 else "load")

    def observe(self, request: RouteRequest, index: int) -> None:
        self.siblings.remember(request.key, index)
        self.index.insert(index, request.blocks)


POLICIES = ("round_robin", "least_loaded", "prefix_aware")


def make_router(policy: str, replicas: int, **options: int | float) -> Router:
    """The router of a policy name (``POLICIES``); ``options`` go to ``PrefixAware``."""
    if policy == "round_robin":
        return RoundRobin()
    if policy == "least_loaded":
        return LeastLoaded()
    if policy == "prefix_aware":
        return PrefixAware(replicas, **options)  # type: ignore[arg-type]
    raise ValueError(f"routing policy {policy!r} is unknown; use one of {', '.join(POLICIES)}")
