"""Majority vote, confidence filtering and universal-vote selection parsing."""

from __future__ import annotations

import pytest

from agents.strategies.vote_tally import (
    SELECTION_INSTRUCTION,
    format_candidates_for_selection,
    keep_top_fraction,
    majority_vote,
    parse_selection,
    top_fraction_indices,
)
from orchestrator.errors import ConfigError


def test_plain_majority() -> None:
    result = majority_vote(["7", "5", "7", None, "7", "5"])
    assert result.winner == "7"
    assert result.counts == {"7": 3, "5": 2}
    assert list(result.counts) == ["7", "5"]
    assert result.weights == {"7": 3.0, "5": 2.0}
    assert result.margin == 1.0
    assert result.total == 5.0
    assert result.abstained == 1
    assert result.share == pytest.approx(0.6)
    assert not result.unanimous


def test_tie_goes_to_first_seen() -> None:
    assert majority_vote(["b", "a", "a", "b"]).winner == "b"
    assert majority_vote(["a", "b", "b", "a"]).winner == "a"
    assert majority_vote(["a", "b", "b", "a"]).margin == 0.0


def test_all_none_has_no_winner() -> None:
    result = majority_vote([None, None])
    assert result.winner is None
    assert result.counts == {}
    assert result.total == 0.0
    assert result.abstained == 2
    assert result.share == 0.0
    assert majority_vote([]).winner is None


def test_weights_can_overturn_counts() -> None:
    answers = ["x", "x", "y"]
    assert majority_vote(answers).winner == "x"
    weighted = majority_vote(answers, [0.1, 0.2, 0.9])
    assert weighted.winner == "y"
    assert weighted.counts == {"x": 2, "y": 1}
    assert weighted.weights["x"] == pytest.approx(0.3)
    assert weighted.margin == pytest.approx(0.6)
    assert weighted.total == pytest.approx(1.2)


def test_float_rounding_ties_still_go_to_first_seen() -> None:
    # 0.1 + 0.2 != 0.3 in floating point; the tie must still be broken by order.
    assert majority_vote(["a", "b", "a"], [0.3, 0.1, 0.0]).winner == "a"
    assert majority_vote(["b", "b", "a"], [0.1, 0.2, 0.3]).winner == "b"


def test_unanimous() -> None:
    result = majority_vote(["4", None, "4"])
    assert result.unanimous
    assert result.margin == 2.0


def test_bad_weights_are_rejected() -> None:
    with pytest.raises(ValueError, match="2 answers but 1 weights"):
        majority_vote(["a", "b"], [1.0])
    with pytest.raises(ValueError, match=r"-1\.0"):
        majority_vote(["a"], [-1.0])
    with pytest.raises(ValueError, match="nan"):
        majority_vote(["a"], [float("nan")])


def test_keep_top_fraction_keeps_order_and_at_least_one() -> None:
    items = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]
    scores = [0.1, 0.9, 0.5, 0.95, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8]
    assert keep_top_fraction(items, scores, 0.3) == ["b", "d", "j"]
    assert keep_top_fraction(items, scores, 0.01) == ["d"]
    assert keep_top_fraction(items, scores, 1.0) == items
    assert keep_top_fraction(items[:3], [1.0, 1.0, 1.0], 0.5) == ["a", "b"]
    assert keep_top_fraction([], [], 0.5) == []
    assert top_fraction_indices([0.2, 0.1, 0.9], 0.5) == [0, 2]


@pytest.mark.parametrize("fraction", [0.0, -0.5, 1.5])
def test_keep_top_fraction_rejects_bad_fraction(fraction: float) -> None:
    with pytest.raises(ConfigError, match=r"\(0, 1\]"):
        keep_top_fraction(["a"], [1.0], fraction)


def test_keep_top_fraction_length_mismatch() -> None:
    with pytest.raises(ValueError, match="2 items but 1 scores"):
        keep_top_fraction(["a", "b"], [1.0], 0.5)


def test_format_candidates_numbers_from_one() -> None:
    text = format_candidates_for_selection(["  first answer ", "second\nline"])
    assert text == "Response 1:\nfirst answer\n\nResponse 2:\nsecond\nline"
    assert "Response X" in SELECTION_INSTRUCTION


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("The most consistent response is Response 2.", 1),
        ("the most consistent response is: response #3 because...", 2),
        ("Response 1 and Response 3 agree, so I pick Response 3", 2),
        ("The most consistent response is Response 9. Actually Response 1.", 0),
        ("2", 1),
        ("[3]", 2),
        ("Response 7", None),
        ("I cannot decide.", None),
        ("0", None),
    ],
)
def test_parse_selection(reply: str, expected: int | None) -> None:
    assert parse_selection(reply, 3) == expected


def test_parse_selection_with_no_candidates() -> None:
    assert parse_selection("Response 1", 0) is None


def test_the_empty_vote_has_no_margin() -> None:
    assert majority_vote([None]).margin == 0.0


def test_a_near_tie_is_a_tie_relative_to_the_score() -> None:
    # Scores at most 1e-12 (relative, or absolute below 1) apart are tied: first seen wins.
    assert majority_vote(["a", "b"], [1.0 - 0.5e-12, 1.0]).winner == "a"
    assert majority_vote(["a", "b"], [1.0 - 1.5e-12, 1.0]).winner == "b"
    assert majority_vote(["a", "b"], [1000.0 - 1e-10, 1000.0]).winner == "a"
    assert majority_vote(["a", "b"], [1000.0 - 1e-8, 1000.0]).winner == "b"
    # Exactly at the tolerance (1 apart at 1e12) is still a tie.
    assert majority_vote(["a", "b"], [1e12 - 1, 1e12]).winner == "a"
    assert majority_vote(["a", "b"], [1e12 - 2, 1e12]).winner == "b"


def test_messages_say_how_to_fix_the_call() -> None:
    with pytest.raises(ValueError) as lengths:
        majority_vote(["a", "b"], [1.0])
    assert str(lengths.value) == (
        "majority_vote got 2 answers but 1 weights; pass one weight per answer"
    )
    with pytest.raises(ValueError) as negative:
        majority_vote(["a"], [-1.0])
    assert str(negative.value) == (
        "vote weight -1.0 for answer 'a' must be finite and >= 0; "
        "map confidences to non-negative weights first"
    )
    with pytest.raises(ValueError) as items:
        keep_top_fraction(["a", "b"], [1.0], 0.5)
    assert str(items.value) == "keep_top_fraction got 2 items but 1 scores; pass one score per item"
    with pytest.raises(ConfigError) as fraction:
        top_fraction_indices([1.0], 0.0)
    assert str(fraction.value) == (
        "keep fraction 0.0 is out of range; use a value in (0, 1], "
        "e.g. 0.1 to keep the 10% most confident traces"
    )


def test_the_kept_count_rounds_up_and_ignores_float_noise() -> None:
    scores = [0.4, 0.3, 0.2, 0.1]
    assert top_fraction_indices(scores, 0.3) == [0, 1]  # 1.2 traces -> 2
    # 0.1 * 30 is 3.0000000000000004 in floating point: still 3 traces, not 4.
    assert len(top_fraction_indices([float(i) for i in range(30)], 0.1)) == 3
    assert len(top_fraction_indices([float(i) for i in range(10)], 0.30000000001)) == 3
    assert len(top_fraction_indices([float(i) for i in range(10)], 0.3000001)) == 4


def test_the_named_response_wins_over_later_mentions() -> None:
    reply = "The most consistent response is Response 2. Response 3 was close."
    assert parse_selection(reply, 3) == 1


def test_parse_selection_with_one_candidate() -> None:
    assert parse_selection("The most consistent response is Response 1", 1) == 0
    assert parse_selection("Response 2", 1) is None
