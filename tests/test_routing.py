"""Routing decisions, pure: least outstanding, prefix affinity within slack, health."""

from __future__ import annotations

import pytest

from orchestrator.models.routing import PrefixAffinity, choose_replica


def test_least_outstanding_healthy_replica_wins() -> None:
    assert choose_replica([3, 1, 2], [True, True, True], None) == 1
    assert choose_replica([3, 1, 2], [True, False, True], None) == 2


def test_ties_are_spread_by_the_prefix_hash() -> None:
    picks = {choose_replica([0, 0, 0], [True] * 3, None, spread=s) for s in range(3)}
    assert picks == {0, 1, 2}
    assert choose_replica([0, 5, 0], [True] * 3, None, spread=1) == 2


def test_preferred_replica_keeps_its_prefix_within_slack() -> None:
    assert choose_replica([2, 0], [True, True], preferred=0, slack=2) == 0
    assert choose_replica([3, 0], [True, True], preferred=0, slack=2) == 1
    assert choose_replica([1, 0], [True, True], preferred=0, slack=0) == 1


def test_unhealthy_or_unknown_preferred_replica_is_ignored() -> None:
    assert choose_replica([0, 4], [False, True], preferred=0) == 1
    assert choose_replica([1, 0], [True, True], preferred=7) == 1


def test_tried_replicas_marked_unhealthy_are_skipped() -> None:
    # The pool marks replicas that already failed this request as not eligible.
    tried = {0, 2}
    eligible = [i not in tried for i in range(3)]
    assert choose_replica([0, 9, 0], eligible, preferred=0) == 1


def test_no_healthy_replica_is_an_error() -> None:
    with pytest.raises(ValueError, match="no healthy replica among 2"):
        choose_replica([0, 0], [False, False], None)


def test_mismatched_lengths_are_an_error() -> None:
    with pytest.raises(ValueError, match="one entry per replica"):
        choose_replica([0, 0], [True], None)


def test_affinity_remembers_and_evicts_least_recently_used() -> None:
    affinity = PrefixAffinity(capacity=2)
    affinity.remember("a", 0)
    affinity.remember("b", 1)
    assert affinity.get("a") == 0  # "a" is now the most recent
    affinity.remember("c", 2)
    assert "b" not in affinity
    assert affinity.get("a") == 0 and affinity.get("c") == 2
    assert len(affinity) == 2
    affinity.remember("a", 1)
    assert affinity.get("a") == 1


def test_affinity_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        PrefixAffinity(capacity=0)


def test_defaults_keep_the_prefix_within_two_and_break_ties_to_the_first() -> None:
    assert choose_replica([2, 0], [True, True], preferred=0) == 0
    assert choose_replica([3, 0], [True, True], preferred=0) == 1
    assert choose_replica([0, 0], [True, True], None) == 0


def test_slack_is_measured_from_the_least_loaded_replica() -> None:
    assert choose_replica([5, 3], [True, True], preferred=0, slack=2) == 0
    assert choose_replica([6, 3], [True, True], preferred=0, slack=2) == 1


def test_a_preferred_index_just_past_the_replicas_is_ignored() -> None:
    assert choose_replica([1, 0], [True, True], preferred=2) == 1
    assert choose_replica([0, 1], [True, True], preferred=-1) == 0


def test_affinity_holds_4096_prefixes_by_default_and_at_least_one() -> None:
    assert PrefixAffinity().capacity == 4096
    one = PrefixAffinity(capacity=1)
    one.remember("a", 0)
    one.remember("b", 1)
    assert ("a" in one, one.get("b"), len(one)) == (False, 1, 1)
