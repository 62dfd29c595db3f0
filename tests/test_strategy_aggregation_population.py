"""Recursive self-aggregation subsets and Mixture-of-Agents layer plumbing."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from agents.strategies.aggregation_population import (
    AGGREGATE_INSTRUCTION,
    aggregation_prompt,
    check_population,
    format_references,
    layer_inputs,
    moa_system_prompt,
    sample_subsets,
)
from orchestrator.errors import ConfigError


def test_subsets_are_distinct_in_range_and_reproducible() -> None:
    subsets = sample_subsets(8, 3, 8, random.Random(0))
    assert len(subsets) == 8
    for subset in subsets:
        assert len(subset) == 3
        assert len(set(subset)) == 3
        assert all(0 <= i < 8 for i in subset)
    assert subsets == sample_subsets(8, 3, 8, random.Random(0))
    assert subsets != sample_subsets(8, 3, 8, random.Random(1))


def test_subsets_are_uniform_over_members() -> None:
    counts = Counter(i for s in sample_subsets(6, 2, 3000, random.Random(7)) for i in s)
    assert set(counts) == set(range(6))
    expected = 3000 * 2 / 6
    assert all(abs(c - expected) < 0.15 * expected for c in counts.values())


def test_whole_population_and_edge_counts() -> None:
    subsets = sample_subsets(4, 4, 3, random.Random(2))
    assert all(sorted(s) == [0, 1, 2, 3] for s in subsets)
    assert sample_subsets(4, 2, 0, random.Random(2)) == []


@pytest.mark.parametrize(("size", "k"), [(0, 1), (4, 0), (4, 5)])
def test_bad_population_settings(size: int, k: int) -> None:
    with pytest.raises(ConfigError, match=repr(k) if size else "population size"):
        check_population(size, k)
    with pytest.raises(ConfigError):
        sample_subsets(size, k, 1, random.Random(0))
    with pytest.raises(ConfigError, match="count"):
        sample_subsets(4, 2, -1, random.Random(0))


def test_layer_inputs() -> None:
    outputs = ["  first ", None, "", "third"]
    assert layer_inputs(outputs, 0) == []
    assert layer_inputs(outputs, 2) == ["first", "third"]
    with pytest.raises(ValueError):
        layer_inputs(outputs, -1)


def test_prompts_number_the_references() -> None:
    assert format_references(["a", " ", "b"]) == "Response 1:\na\n\nResponse 2:\nb"
    system = moa_system_prompt(["x", "y"])
    assert system is not None
    assert system.startswith(AGGREGATE_INSTRUCTION)
    assert "Response 2:\ny" in system
    assert moa_system_prompt([]) is None
    prompt = aggregation_prompt("What is 2+2?", ["4", "5"])
    assert "Problem:\nWhat is 2+2?" in prompt
    assert "Candidate 1:\n4\n\nCandidate 2:\n5" in prompt


def test_the_smallest_population_and_subsets_are_valid() -> None:
    check_population(1, 1)
    check_population(3, 1)
    assert sample_subsets(1, 1, 2, random.Random(0)) == [(0,), (0,)]


def test_a_negative_layer_index_is_named() -> None:
    with pytest.raises(ValueError) as caught:
        layer_inputs(["a"], -1)
    assert str(caught.value) == "layer index -1 must be >= 0"
