"""Fleet routing policies, pure: round-robin, least loaded, and prefix-aware scoring."""

from __future__ import annotations

import pytest

from orchestrator.models.routing import (
    BlockIndex,
    LeastLoaded,
    PrefixAware,
    RoundRobin,
    RouteRequest,
    make_router,
    prompt_blocks,
    prompt_text,
)

DOC = "A long shared document about reference cycles and the garbage collector. " * 8


def request(key: str, text: str) -> RouteRequest:
    return RouteRequest(key, tuple(prompt_blocks(text)))


def test_blocks_are_chained_so_equal_hashes_mean_equal_prefixes() -> None:
    a = prompt_blocks("x" * 64 + "tail one")
    b = prompt_blocks("x" * 64 + "tail two")
    c = prompt_blocks("y" * 32 + "x" * 32)
    assert len(a) == 2 and a == b  # the partial last block is not hashed
    assert c[1] != a[1]  # same block text after a different prefix: another hash
    assert prompt_blocks("short") == []
    with pytest.raises(ValueError, match="block_chars"):
        prompt_blocks("text", 0)


def test_prompt_text_keeps_roles_apart() -> None:
    assert prompt_text([("system", "a"), ("user", "b")]) != prompt_text(
        [("user", "a"), ("user", "b")]
    )


def test_block_index_counts_leading_matches_and_evicts_least_recent() -> None:
    index = BlockIndex(replicas=2, capacity_blocks=3)
    index.insert(0, ["a", "b", "c"])
    assert index.matched(0, ["a", "b", "x"]) == 2
    assert index.matched(0, ["x", "a"]) == 0
    assert index.matched(1, ["a"]) == 0
    index.insert(0, ["d"])
    assert index.matched(0, ["a"]) == 0 and index.size(0) == 3
    with pytest.raises(ValueError, match="capacity_blocks"):
        BlockIndex(1, 0)


def test_round_robin_takes_each_eligible_replica_in_turn() -> None:
    router = RoundRobin()
    r = request("k", DOC)
    picks = [router.choose(r, [9, 0, 0], [True, True, True]).index for _ in range(4)]
    assert picks == [0, 1, 2, 0]
    assert router.choose(r, [0, 0, 0], [False, True, False]).index == 1


def test_least_loaded_ignores_prefixes() -> None:
    route = LeastLoaded().choose(request("k", DOC), [3, 1, 2], [True, True, True])
    assert (route.index, route.reason) == (1, "load")
    with pytest.raises(ValueError, match="no healthy replica"):
        LeastLoaded().choose(request("k", DOC), [0], [False])


def test_prefix_aware_sends_a_longer_prompt_to_the_replica_holding_its_prefix() -> None:
    router = PrefixAware(3)
    first = request("k1", DOC)
    router.observe(first, 2)
    follow_up = request("k2", DOC + "and a question that follows it")
    route = router.choose(follow_up, [0, 0, 0], [True] * 3)
    assert (route.index, route.reason) == (2, "prefix")
    # Within slack, a little more load does not move it; the match outweighs it.
    assert router.choose(follow_up, [1, 1, 2], [True] * 3).index == 2


def test_prefix_aware_leaves_a_replica_busier_than_slack() -> None:
    router = PrefixAware(2, slack=2)
    router.observe(request("k1", DOC), 0)
    route = router.choose(request("k2", DOC + "more"), [3, 0], [True, True])
    assert (route.index, route.reason) == (1, "load")


def test_prefix_aware_falls_back_to_load_when_imbalanced_or_unmatched() -> None:
    router = PrefixAware(3, slack=100, imbalance=4)
    router.observe(request("k1", DOC), 0)
    imbalanced = router.choose(request("k2", DOC + "x"), [5, 0, 9], [True] * 3)
    assert (imbalanced.index, imbalanced.reason) == (1, "load")
    unmatched = router.choose(request("k3", "an unrelated prompt " * 10), [1, 0, 2], [True] * 3)
    assert (unmatched.index, unmatched.reason) == (1, "load")


def test_prefix_aware_breaks_load_ties_toward_the_emptiest_cache() -> None:
    router = PrefixAware(2)
    router.observe(request("k1", DOC), 0)
    assert router.choose(request("k2", "nothing shared " * 10), [0, 0], [True, True]).index == 1


def test_siblings_stay_on_the_first_siblings_replica_within_slack() -> None:
    router = PrefixAware(4, slack=2)
    loads = [0, 0, 0, 0]
    picks = []
    for branch in range(4):
        r = request("debate-round-1", f"short {branch}")
        route = router.choose(r, loads, [True] * 4)
        router.observe(r, route.index)
        loads[route.index] += 1  # the siblings are all in flight together
        picks.append(route)
    assert [p.index for p in picks[:3]] == [picks[0].index] * 3
    assert [p.reason for p in picks[1:3]] == ["sibling", "sibling"]
    assert picks[3].index != picks[0].index  # three busier than the rest: load wins


def test_unhealthy_sibling_replica_is_skipped() -> None:
    router = PrefixAware(2)
    router.observe(request("k", DOC), 0)
    assert router.choose(request("k", DOC), [0, 0], [False, True]).index == 1


def test_make_router_knows_the_policies() -> None:
    assert make_router("round_robin", 2).name == "round_robin"
    assert make_router("least_loaded", 2).name == "least_loaded"
    assert make_router("prefix_aware", 2, slack=1).name == "prefix_aware"
    with pytest.raises(ValueError, match="round_robin, least_loaded, prefix_aware"):
        make_router("random", 2)
