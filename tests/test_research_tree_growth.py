"""How a research tree grows and is pruned (pure): verdicts, decisions, redundancy, ids."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agents.research_tree_growth import (
    MAX_ID,
    ResearchTree,
    Verdict,
    decide,
    most_similar,
    parse_verdict,
    similarity,
    verdict_schema,
    words,
)

PROMISING = Verdict(promising=True, follow_ups=["What about A?", "What about B?"], reason="r")


def deciding(verdict: Verdict | None, **given: object) -> tuple[str, tuple[str, ...]]:
    settings: dict[str, object] = {
        "depth": 1,
        "max_depth": 2,
        "room": 5,
        "time_left": None,
        "reserve_s": 30.0,
    }
    settings.update(given)
    decision = decide(verdict, **settings)  # type: ignore[arg-type]
    return decision.action, decision.follow_ups


def test_off_topic_is_pruned_and_redundant_is_stopped() -> None:
    assert deciding(Verdict(relevant=False, promising=True, follow_ups=["x y z?"]))[0] == "prune"
    assert deciding(Verdict(novel=False, promising=True, follow_ups=["x y z?"]))[0] == "stop"
    reason = decide(
        Verdict(relevant=False, reason="about cats"),
        depth=1,
        max_depth=2,
        room=1,
        time_left=None,
        reserve_s=0,
    ).reason
    assert reason == "off-topic: about cats"
    assert (
        decide(
            Verdict(novel=False), depth=1, max_depth=2, room=1, time_left=None, reserve_s=0
        ).reason
        == "redundant"
    )


def test_the_limit_that_kept_a_promising_branch_is_named() -> None:
    settings: dict[str, Any] = {"depth": 1, "max_depth": 2, "room": 5, "time_left": None}
    assert decide(PROMISING, **{**settings, "depth": 2}, reserve_s=0).limited_by == "depth"
    assert decide(PROMISING, **{**settings, "room": 0}, reserve_s=0).limited_by == "room"
    assert decide(PROMISING, **{**settings, "time_left": 5.0}, reserve_s=5).limited_by == (
        "reserve"
    )
    assert decide(PROMISING, **settings, reserve_s=0).limited_by is None
    assert decide(Verdict(), **settings, reserve_s=0).limited_by is None


def test_promising_branches_are_deepened_within_depth_room_and_time() -> None:
    assert deciding(PROMISING) == ("deepen", ("What about A?", "What about B?"))
    assert deciding(PROMISING, room=1) == ("deepen", ("What about A?",))
    assert deciding(PROMISING, room=0)[0] == "keep"
    assert deciding(PROMISING, depth=2, max_depth=2)[0] == "keep"
    assert deciding(PROMISING, depth=1, max_depth=1)[0] == "keep"
    assert deciding(PROMISING, time_left=30.0, reserve_s=30.0)[0] == "keep"
    assert deciding(PROMISING, time_left=30.1, reserve_s=30.0)[0] == "deepen"


def test_not_promising_or_without_follow_ups_or_unreadable_is_kept() -> None:
    assert deciding(Verdict(promising=False, follow_ups=["a b c?"]))[0] == "keep"
    assert deciding(Verdict(promising=True, follow_ups=[]))[0] == "keep"
    assert deciding(None)[0] == "keep"


def test_verdicts_are_read_tolerantly() -> None:
    text = 'ok {"relevant": true, "novel": false, "promising": true, "follow_ups": [" a  b ", ""]}'
    verdict = parse_verdict(text)
    assert verdict is not None and verdict.novel is False and verdict.follow_ups == ["a b"]
    assert parse_verdict('{"relevant": "perhaps"}') is None
    assert parse_verdict("no json") is None
    assert parse_verdict("{broken") is None
    assert parse_verdict('{"extra": 1}') == Verdict()


def test_the_verdict_schema_bounds_the_follow_ups() -> None:
    schema = verdict_schema(3)
    assert schema["properties"]["follow_ups"]["maxItems"] == 3
    assert set(schema["required"]) == {"relevant", "novel", "promising", "follow_ups", "reason"}


def test_similarity_is_the_share_of_content_words() -> None:
    assert words("What is the GIL in CPython?") == {"gil", "cpython"}
    assert similarity("GIL in CPython", "the CPython GIL") == 1.0
    assert similarity("GIL locking", "GIL threads") == pytest.approx(1 / 3)
    assert similarity("a b", "what is") == 1.0  # no content words on either side
    assert similarity("garbage", "what is") == 0.0
    assert most_similar("GIL threads", ["memory", "GIL locking"]) == (1 / 3, "GIL locking")
    assert most_similar("x y z", []) == (0.0, None)


def test_children_get_dotted_ids_and_redundant_or_surplus_ones_are_dropped() -> None:
    tree = ResearchTree(max_nodes=4, redundancy=0.7)
    root = tree.add_root("t1", "How does CPython manage memory?")
    assert root is not None and root.depth == 1
    child = tree.add_child("t1", "How does reference counting free objects?")
    assert child is not None and child.id == "t1.1" and child.depth == 2
    assert tree.nodes["t1"].children == ["t1.1"]
    assert tree.add_child("t1", "How does CPython manage its memory?") is None
    assert "redundant with" in tree.dropped[-1]["reason"]
    second = tree.add_child("t1", "What does the cyclic garbage collector do?")
    assert second is not None and second.id == "t1.2"
    assert tree.room == 1
    assert tree.add_child("t1.1", "When are arenas returned to the system?") is not None
    assert tree.room == 0
    assert tree.add_child("t1", "Completely different topic here?") is None
    assert tree.dropped[-1]["reason"] == "max_nodes"
    assert tree.add_root("t2", "Another root?") is None


def test_the_redundancy_threshold_is_inclusive() -> None:
    tree = ResearchTree(max_nodes=5, redundancy=0.5)
    tree.add_root("t1", "alpha beta")
    assert tree.add_child("t1", "alpha gamma") is not None  # 1/3 < 0.5
    assert tree.add_child("t1", "alpha beta delta gamma") is None  # 3/4 >= 0.5... and 2/4
    exact = ResearchTree(max_nodes=5, redundancy=1.0)
    exact.add_root("t1", "alpha beta")
    assert exact.add_child("t1", "beta alpha") is None
    assert exact.add_child("t1", "alpha beta gamma") is not None


def test_ids_that_would_be_too_long_are_replaced() -> None:
    tree = ResearchTree(max_nodes=3, redundancy=1.0)
    long_id = "x" * (MAX_ID - 1)
    tree.add_root(long_id, "root question words")
    child = tree.add_child(long_id, "child question other")
    assert child is not None and child.id == "n2"


def test_kept_and_details_follow_the_fates() -> None:
    tree = ResearchTree(max_nodes=5, redundancy=0.9)
    for node_id, status, action in [
        ("a", "done", "deepen"),
        ("b", "done", "prune"),
        ("c", "failed", None),
        ("d", "done", "stop"),
    ]:
        node = tree.add_root(node_id, f"question {node_id} words")
        assert node is not None
        node.status, node.action = status, action  # type: ignore[assignment]
    assert tree.kept() == ["a", "d"]
    details = tree.details()
    assert (details["deepened"], details["pruned"], details["stopped"]) == (1, 1, 1)
    assert json.dumps(details)


def test_bad_tree_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="max_nodes"):
        ResearchTree(max_nodes=0, redundancy=0.5)
    with pytest.raises(ValueError, match="redundancy"):
        ResearchTree(max_nodes=1, redundancy=0.0)
    with pytest.raises(ValueError, match="redundancy"):
        ResearchTree(max_nodes=1, redundancy=1.01)
    ResearchTree(max_nodes=1, redundancy=1.0)
