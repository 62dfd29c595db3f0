"""DeepPrune's greedy clustering, comparators and weighted survivor vote (pure)."""

from __future__ import annotations

import pytest

from agents.strategies.prune_clusters import (
    GreedyClusters,
    first_match,
    read_same,
    same_by_answer,
    same_by_text,
    survivor_vote,
)


def test_first_trace_opens_a_cluster_and_redundant_ones_are_pruned() -> None:
    clusters = GreedyClusters(keep_per_cluster=1)
    assert clusters.place(0, None) == "new"
    assert clusters.place(1, 0) == "pruned"
    assert clusters.place(2, None) == "new"
    assert clusters.representatives() == [0, 2]
    assert clusters.clusters[0].members == [0, 1]
    assert clusters.weights() == {0: 2.0, 2: 1.0}


def test_keep_per_cluster_lets_that_many_members_run() -> None:
    clusters = GreedyClusters(keep_per_cluster=2)
    clusters.place(0, None)
    assert clusters.place(1, 0) == "kept"
    assert clusters.place(2, 0) == "pruned"
    assert clusters.weights() == {0: 1.5, 1: 1.5}


def test_a_finished_trace_is_never_pruned() -> None:
    clusters = GreedyClusters(keep_per_cluster=1)
    clusters.place(0, None)
    assert clusters.place(1, 0, finished=True) == "kept"
    assert clusters.weights() == {0: 1.0, 1: 1.0}


def test_bad_placements_are_refused() -> None:
    clusters = GreedyClusters()
    clusters.place(0, None)
    with pytest.raises(ValueError, match="already"):
        clusters.place(0, None)
    with pytest.raises(ValueError, match="does not exist"):
        clusters.place(1, 1)
    with pytest.raises(ValueError, match="does not exist"):
        clusters.place(1, -1)
    with pytest.raises(ValueError, match="keep_per_cluster"):
        GreedyClusters(keep_per_cluster=0)


def test_first_match_is_the_first_true_verdict() -> None:
    assert first_match([False, None, True, True]) == 2
    assert first_match([False, None]) is None
    assert first_match([]) is None


def test_same_by_answer_needs_both_prefixes_to_state_one_answer() -> None:
    assert same_by_answer("so far 12 then 144", "I get 144", "last_number")
    assert not same_by_answer("so far 12", "I get 144", "last_number")
    assert not same_by_answer("thinking", "thinking", "last_number")


def test_same_by_text_threshold_is_inclusive() -> None:
    assert same_by_text("a b c", "b c d", 0.5)
    assert not same_by_text("a b c", "b c d", 0.51)


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ('{"reason": "both compute 12*12", "same": true}', True),
        ('Sure: {"same": false, "reason": "no"}', False),
        ('{"same": "yes"}', None),
        ("Yes, they agree.", True),
        ("no.", False),
        ("Different answers", False),
        ("maybe", None),
        ("", None),
    ],
)
def test_read_same(reply: str, verdict: bool | None) -> None:
    assert read_same(reply) is verdict


def test_survivor_vote_weights_each_survivor_by_its_cluster() -> None:
    # One survivor standing for four traces outvotes two singletons that agree.
    result = survivor_vote({0: "4", 3: "5", 5: "5"}, {0: 4.0, 3: 1.0, 5: 1.0})
    assert result.winner == "4"
    assert survivor_vote({0: "4", 3: "5", 5: "5"}, {}).winner == "5"
