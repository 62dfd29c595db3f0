"""Learning-from-Peers routing (pure): which summaries each path reads."""

from __future__ import annotations

import pytest

from agents.strategies.peers_routing import peers_prompt, route, summary_similarity

SUMMARIES = [
    "the answer is 12 by multiplying",
    "the answer is 12 by multiplication",
    "it is 13 by adding things",
    "completely unrelated words here",
]


def test_similarity_is_one_for_equal_texts_and_lower_for_others() -> None:
    assert summary_similarity("Same Text", "same text") == 1.0
    assert summary_similarity("abc", "xyz") == 0.0
    assert (
        0.0
        < summary_similarity(SUMMARIES[0], SUMMARIES[2])
        < summary_similarity(SUMMARIES[0], SUMMARIES[1])
    )


def test_clustered_routes_the_most_similar_peers() -> None:
    routes = route(SUMMARIES, 1, "clustered")
    assert routes[0] == [1] and routes[1] == [0]


def test_dispersed_routes_the_least_similar_peers() -> None:
    routes = route(SUMMARIES, 1, "dispersed")
    similar = route(SUMMARIES, 1, "clustered")
    assert all(r != s for r, s in zip(routes, similar, strict=True))
    assert routes[0] != [1]


def test_hybrid_takes_half_similar_half_different() -> None:
    routes = route(SUMMARIES, 2, "hybrid")
    closest = route(SUMMARIES, 1, "clustered")[0][0]
    farthest = route(SUMMARIES, 1, "dispersed")[0][0]
    assert routes[0] == sorted([closest, farthest])
    # k = 3 out of 3 peers: everyone, with no repeats.
    assert route(SUMMARIES, 3, "hybrid")[0] == [1, 2, 3]


def test_odd_k_in_hybrid_rounds_the_similar_half_up() -> None:
    routes = route(SUMMARIES, 1, "hybrid")
    assert routes == route(SUMMARIES, 1, "clustered")


def test_no_self_no_missing_and_k_capped() -> None:
    routes = route(["a b", None, "a c"], 5, "dispersed")
    assert routes == [[2], [], [0]]
    assert route(["only"], 2, "clustered") == [[]]


def test_ties_go_to_the_lower_index() -> None:
    assert route(["x", "y", "y", "y"], 1, "clustered")[0] == [1]
    assert route(["x", "y", "y", "y"], 1, "dispersed")[0] == [1]


def test_k_must_be_positive() -> None:
    with pytest.raises(ValueError, match="k"):
        route(SUMMARIES, 0, "dispersed")


def test_peers_prompt_numbers_the_summaries() -> None:
    prompt = peers_prompt([" first ", "second"])
    assert "Peer 1: first\n\nPeer 2: second" in prompt
    assert "continue your reasoning" in prompt
