"""Semantic entropy (pure): clustering by answer or text, entropy, and the stopping rule."""

from __future__ import annotations

import math

import pytest

from agents.strategies.semantic_entropy import (
    EntropyStopParams,
    cluster_answers,
    cluster_sizes,
    cluster_texts,
    entropy,
    entropy_says_stop,
    normalized_entropy,
    semantic_entropy,
    text_similarity,
    words,
)


def test_words_are_case_folded_without_punctuation() -> None:
    assert words("The Answer, is 42!") == {"the", "answer", "is", "42"}


def test_text_similarity_is_jaccard_of_words() -> None:
    assert text_similarity("a b c", "a b c") == 1.0
    assert text_similarity("a b", "c d") == 0.0
    assert text_similarity("a b c", "b c d") == pytest.approx(2 / 4)
    assert text_similarity("", "") == 1.0
    assert text_similarity("a", "") == 0.0


def test_cluster_texts_joins_the_first_similar_cluster() -> None:
    texts = ["the sky is blue", "The sky is blue.", "grass is green", "the sky is blue today"]
    assert cluster_texts(texts, 1.0) == [0, 0, 1, 2]
    # "the sky is blue today" shares 4 of 5 words with the first: joins at 0.8.
    assert cluster_texts(texts, 0.8) == [0, 0, 1, 0]


def test_cluster_texts_threshold_is_inclusive() -> None:
    # Overlap exactly 0.5 joins at 0.5, not above it.
    assert cluster_texts(["a b c", "b c d"], 0.5) == [0, 0]
    assert cluster_texts(["a b c", "b c d"], 0.51) == [0, 1]


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.01])
def test_cluster_texts_rejects_a_similarity_out_of_range(bad: float) -> None:
    with pytest.raises(ValueError, match="similarity"):
        cluster_texts(["a"], bad)


def test_cluster_answers_groups_equal_answers_and_isolates_missing_ones() -> None:
    labels = cluster_answers(["4", None, "5", "4", None])
    assert labels[0] == labels[3]
    assert len(set(labels)) == 4
    assert cluster_sizes(labels) == [2, 1, 1, 1]


def test_entropy_of_cluster_frequencies() -> None:
    assert entropy([]) == 0.0
    assert entropy([5]) == 0.0
    assert entropy([1, 1]) == pytest.approx(math.log(2))
    assert entropy([2, 0, 2]) == pytest.approx(math.log(2))
    assert entropy([3, 1]) == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))
    with pytest.raises(ValueError, match="must be >= 0"):
        entropy([1, -1])


def test_normalized_entropy_spans_zero_to_one() -> None:
    assert normalized_entropy([]) == 0.0
    assert normalized_entropy([1]) == 0.0
    assert normalized_entropy([4]) == 0.0
    assert normalized_entropy([1, 1, 1, 1]) == pytest.approx(1.0)
    assert normalized_entropy([2, 2]) == pytest.approx(math.log(2) / math.log(4))
    assert 0.0 < normalized_entropy([3, 1]) < normalized_entropy([2, 2])


def test_semantic_entropy_by_answer_uses_the_extraction() -> None:
    agree = ["so the answer is 1,000", "I get 1000.", "total: $1000"]
    assert semantic_entropy(agree, "answer", extract="last_number") == 0.0
    split = ["answer 4", "answer 5"]
    assert semantic_entropy(split, "answer", extract="last_number") == pytest.approx(1.0)
    # Texts without an answer each stand alone: no agreement.
    assert semantic_entropy(["hmm", "hmm"], "answer", extract="last_number") == pytest.approx(1.0)


def test_semantic_entropy_by_text_uses_word_overlap() -> None:
    texts = ["Paris is the capital.", "paris is the capital", "Lyon is big"]
    value = semantic_entropy(texts, "text", similarity=0.9)
    assert value == pytest.approx(normalized_entropy([2, 1]))
    assert semantic_entropy(texts[:2], "text") == 0.0


def test_stop_is_strictly_below_the_threshold() -> None:
    assert entropy_says_stop(0.29, 0.3)
    assert not entropy_says_stop(0.3, 0.3)
    assert not entropy_says_stop(0.0, None)
    assert not entropy_says_stop(0.0, 0.0)


def test_entropy_params_are_bounded() -> None:
    assert EntropyStopParams().stop_entropy is None
    with pytest.raises(ValueError):
        EntropyStopParams(stop_entropy=1.5)
    with pytest.raises(ValueError):
        EntropyStopParams(entropy_similarity=0.0)
    with pytest.raises(ValueError):
        EntropyStopParams.model_validate({"bogus": 1})
