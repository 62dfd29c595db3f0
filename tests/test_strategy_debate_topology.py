"""Debate topologies, agreement, context summaries and ReConcile's weighted vote."""

from __future__ import annotations

import pytest

from agents.strategies.debate_topology import (
    TRUNCATION_MARK,
    Topology,
    all_agree,
    neighbours,
    parse_confidence,
    reconcile_vote,
    reconcile_weight,
    reconcile_weights,
    summarize_for_context,
)
from agents.strategies.extract import normalize_answer
from orchestrator.errors import ConfigError


def test_all_to_all() -> None:
    assert neighbours(2, 5, "all") == [0, 1, 3, 4]
    assert neighbours(0, 1, "all") == []


def test_ring() -> None:
    assert neighbours(0, 6, "ring") == [1, 5]
    assert neighbours(3, 6, "ring") == [2, 4]
    assert neighbours(0, 6, "ring", degree=1) == [1]
    assert neighbours(0, 6, "ring", degree=3) == [1, 2, 5]
    assert neighbours(1, 3, "ring", degree=5) == [0, 2]


def test_sparse_has_degree_and_spreads_in_log_rounds() -> None:
    n = 8
    graph = {i: neighbours(i, n, "sparse", degree=3) for i in range(n)}
    assert graph[0] == [1, 2, 4]
    assert all(len(seen) == 3 and i not in seen for i, seen in graph.items())
    # Who knows agent 0's answer after r rounds: agents that read someone who knows it.
    informed = {0}
    rounds = 0
    while len(informed) < n:
        informed |= {i for i, seen in graph.items() if informed & set(seen)}
        rounds += 1
    assert rounds <= 3


def test_ring_and_sparse_cover_everyone() -> None:
    topologies: list[Topology] = ["ring", "sparse"]
    for topology in topologies:
        readers = {j for i in range(7) for j in neighbours(i, 7, topology, degree=2)}
        assert readers == set(range(7))


def test_bad_topology_settings() -> None:
    with pytest.raises(ConfigError, match="'mesh'"):
        neighbours(0, 3, "mesh")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="degree"):
        neighbours(0, 3, "ring", degree=0)
    with pytest.raises(ConfigError, match="at least 1 agent"):
        neighbours(0, 0, "all")
    with pytest.raises(ValueError, match="out of range"):
        neighbours(3, 3, "all")


def test_all_agree() -> None:
    assert all_agree(["42", "42", "42"])
    assert not all_agree(["42", "41"])
    assert not all_agree(["42", None])
    assert not all_agree([])
    assert all_agree([" Paris", "paris."], key=normalize_answer)


def test_summary_fits_untouched() -> None:
    text = summarize_for_context(["x = 1", "y = 2"], 100)
    assert text == "Agent 1: x = 1\n\nAgent 2: y = 2"
    assert summarize_for_context({"Agent 4": "yes"}, 100) == "Agent 4: yes"
    assert summarize_for_context([], 10) == ""


def test_summary_truncation_is_bounded_fair_and_deterministic() -> None:
    short = "The answer is 5."
    long_a = "A" * 400 + " so the answer is 7."
    long_b = "B" * 900 + " so the answer is 9."
    answers = {"Agent 1": short, "Agent 2": long_a, "Agent 3": long_b}
    text = summarize_for_context(answers, 300)
    assert len(text) <= 300
    assert text == summarize_for_context(answers, 300)
    blocks = text.split("\n\n")
    assert blocks[0] == f"Agent 1: {short}"
    # Both long answers are cut in the middle: head and final answer kept.
    assert blocks[1].endswith("answer is 7.") and TRUNCATION_MARK in blocks[1]
    assert blocks[2].endswith("answer is 9.") and TRUNCATION_MARK in blocks[2]
    assert abs(len(blocks[1]) - len(blocks[2])) <= 1


@pytest.mark.parametrize("limit", [0, 5, 20, 40])
def test_summary_never_exceeds_limit(limit: int) -> None:
    text = summarize_for_context(["first answer " * 10, "second " * 10, "third"], limit)
    assert len(text) <= limit
    with pytest.raises(ConfigError):
        summarize_for_context(["x"], -1)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Answer: 12\nConfidence: 0.8", 0.8),
        ("Confidence level: 85%", 0.85),
        ('{"answer": "B", "confidence": 0.95}', 0.95),
        ("my confidence is 7/10", 0.7),
        ("Confidence: 90", 0.9),
        ("80%", 0.8),
        ("confidence: 0.3 ... on reflection, confidence: 0.6", 0.6),
        ("Confidence: 1", 1.0),
        ("The answer is 42.", None),
        ("confidence: 250", None),
        ("", None),
    ],
)
def test_parse_confidence(text: str, value: float | None) -> None:
    parsed = parse_confidence(text)
    if value is None:
        assert parsed is None
    else:
        assert parsed == pytest.approx(value)


def test_reconcile_recalibration_buckets() -> None:
    assert reconcile_weights([1.0, 0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.2, None]) == [
        1.0,
        0.8,
        0.8,
        0.5,
        0.5,
        0.3,
        0.1,
        0.1,
        0.1,
    ]
    assert reconcile_weight(0.61) == 0.3


def test_reconcile_vote_lets_confidence_overturn_a_count() -> None:
    result = reconcile_vote(["7", "7", "9"], [0.7, 0.7, 1.0])
    assert result.winner == "9"
    assert result.weights == {"7": pytest.approx(0.6), "9": 1.0}
    assert reconcile_vote(["7", "7", "9"], [0.9, 0.9, 1.0]).winner == "7"
    with pytest.raises(ValueError, match="one confidence"):
        reconcile_vote(["7"], [])


def test_neighbour_counts_below_everyone() -> None:
    assert neighbours(0, 5, "ring", 3) == [1, 2, 4]
    # Sparse: offsets 1, 2, 4, then the others; an offset of n wraps onto the agent itself.
    assert neighbours(0, 8, "sparse", 4) == [1, 2, 3, 4]
    assert neighbours(0, 7, "sparse", 5) == [1, 2, 3, 4, 5]


def test_messages_name_the_value_and_the_fix() -> None:
    with pytest.raises(ValueError) as index:
        neighbours(5, 5, "ring")
    assert str(index.value) == "agent index 5 is out of range for 5 agents; use 0..4"
    with pytest.raises(ConfigError) as chars:
        summarize_for_context(["a"], -1)
    assert str(chars.value) == "max_chars -1 must be >= 0"
    with pytest.raises(ValueError) as lengths:
        reconcile_vote(["a"], [])
    assert str(lengths.value) == (
        "reconcile_vote got 1 answers but 0 confidences; pass one confidence (or None) per answer"
    )


def test_confidence_units() -> None:
    assert parse_confidence("confidence: 0.5 percent") == 0.005
    assert parse_confidence("confidence: 1%") == 0.01
    assert parse_confidence("confidence 1/100") == 0.01
    assert parse_confidence("confidence 8 / 10") == 0.8
    assert parse_confidence("0.5%") == 0.005
    # Without a unit, a number above 1 is a percentage; the result must lie in 0..1.
    assert parse_confidence("confidence: 1.5") == 0.015
    assert parse_confidence("confidence: 0") == 0.0
    assert parse_confidence("confidence 15/10") is None


def test_short_answers_keep_their_text_and_the_long_one_gets_the_rest() -> None:
    # 30 characters, 20 of them labels and separator: "yy" keeps 2, the long one gets 8.
    summary = summarize_for_context(["x" * 40, "yy"], 30)
    assert summary == "Agent 1: x […] xx\n\nAgent 2: yy"


def test_when_labels_alone_fill_the_limit_the_whole_block_is_cut() -> None:
    assert summarize_for_context(["aaaa", "bbbb"], 20) == "Agent 1 […]  2: bbbb"
    assert summarize_for_context(["abcdefghij"], 7) == "A […] j"
    assert summarize_for_context(["abcdefghij"], 6) == "Agent "
    assert summarize_for_context(["abcdefghij"], 9) == "Ag […] ij"
