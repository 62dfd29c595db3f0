"""Cumulative Reasoning's proposition DAG and its roles' replies (pure)."""

from __future__ import annotations

import pytest

from agents.strategies.cumulative_dag import (
    PropositionDag,
    accepted,
    read_proposal,
    read_report,
    read_verdict,
)


def test_propositions_link_to_earlier_items_and_deepen() -> None:
    dag = PropositionDag("  Is every A a C?  ")
    assert dag.items[0].text == "Is every A a C?" and len(dag) == 1
    first = dag.add("Every A is a B.", [0])
    second = dag.add("Every B is a C.", [])
    third = dag.add("Every A is a C.", [2, 1, 1])
    assert (first.id, first.depth, first.sources) == (1, 1, (0,))
    assert second.sources == (0,)
    assert (third.sources, third.depth) == ((1, 2), 2)
    assert [p.id for p in dag.propositions] == [1, 2, 3]


def test_sources_that_are_not_earlier_items_are_dropped() -> None:
    dag = PropositionDag("q")
    dag.add("p1", [0])
    later = dag.add("p2", [5, -1, 1])
    assert later.sources == (1,)
    # The newest id is not a source of itself: it did not exist yet.
    assert dag.add("p3", [3]).sources == (0,)


def test_known_ignores_case_and_spacing() -> None:
    dag = PropositionDag("q")
    dag.add("Every A is a B.", [0])
    assert dag.known("every  a is a b.")
    assert dag.known("Q")
    assert not dag.known("Every A is a C.")


def test_render_numbers_items_with_their_sources() -> None:
    dag = PropositionDag("What is 2+2?")
    dag.add("2+2 is 4", [0])
    text = dag.render()
    assert text.splitlines() == [
        "Proposition 0 (the question): What is 2+2?",
        "Proposition 1 (from 0): 2+2 is 4",
    ]
    assert dag.render(limit=5).splitlines()[1].endswith("2+2 …")
    # A text exactly at the limit is shown whole.
    assert dag.render(limit=8).splitlines()[1].endswith("): 2+2 is 4")
    dag.reject("2+2 is 5")
    assert dag.rejected == ["2+2 is 5"]
    assert dag.to_details() == [{"id": 1, "sources": [0], "depth": 1, "text": "2+2 is 4"}]


@pytest.mark.parametrize(
    ("reply", "read"),
    [
        ('{"proposition": " B holds ", "from": [0, 2]}', ("B holds", [0, 2])),
        ('{"proposition": "B", "from": "1 and 3"}', ("B", [1, 3])),
        ('{"proposition": "B", "from": [true, 1, "x"]}', ("B", [1])),
        ('{"proposition": "B"}', ("B", [])),
        ('{"proposition": "B", "from": 3}', ("B", [])),
        ('{"proposition": "  "}', None),
        ('{"from": [1]}', None),
        ("plain statement", ("plain statement", [])),
        ("   ", None),
    ],
)
def test_read_proposal(reply: str, read: tuple[str, list[int]] | None) -> None:
    assert read_proposal(reply) == read


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ('{"reason": "fine", "valid": true}', True),
        ('{"valid": false}', False),
        ('{"valid": "yes"}', None),
        ("Valid.", True),
        ("incorrect: it does not follow", False),
        ("hmm", None),
        ("", None),
    ],
)
def test_read_verdict(reply: str, verdict: bool | None) -> None:
    assert read_verdict(reply) is verdict


def test_acceptance_needs_a_strict_majority_of_readable_votes() -> None:
    assert accepted([True])
    assert not accepted([False])
    assert not accepted([True, False])
    assert accepted([True, True, False])
    assert accepted([True, None])
    assert not accepted([None, None])
    assert not accepted([])


@pytest.mark.parametrize(
    ("reply", "report"),
    [
        ('{"ready": true, "answer": " 4 "}', (True, "4")),
        ('{"ready": false, "answer": "4"}', (False, "4")),
        ('{"ready": true, "answer": ""}', (False, None)),
        ('{"ready": "true", "answer": "4"}', (False, "4")),
        ("ready: yes, 4", (False, None)),
    ],
)
def test_read_report(reply: str, report: tuple[bool, str | None]) -> None:
    assert read_report(reply) == report
