"""Atom of Thoughts' pure parts: reading decompositions as DAGs, depth, prompts."""

from __future__ import annotations

import json

import pytest

from agents.strategies.atoms_dag import (
    Atom,
    atom_prompt,
    contract_prompt,
    contracted_question,
    dag_depth,
    decompose_prompt,
    decomposition_schema,
    dependent_atoms,
    independent_atoms,
    is_atomic,
    parse_decomposition,
)


def reply(*items: tuple[str, list[int]]) -> str:
    return json.dumps({"subquestions": [{"question": q, "depends_on": d} for q, d in items]})


def test_a_json_decomposition_becomes_atoms_with_zero_based_dependencies() -> None:
    atoms = parse_decomposition(reply(("a?", []), ("b?", []), ("c?", [1, 2])), 4)
    assert atoms == [Atom(0, "a?"), Atom(1, "b?"), Atom(2, "c?", (0, 1))]
    assert [a.index for a in independent_atoms(atoms)] == [0, 1]
    assert [a.index for a in dependent_atoms(atoms)] == [2]


def test_dependencies_on_later_unknown_or_self_atoms_are_ignored() -> None:
    atoms = parse_decomposition(
        reply(("a?", [2]), ("b?", [2, 9, 0, -1]), ("c?", [1, True, "1"])), 4
    )
    assert [a.depends_on for a in atoms] == [(), (), (0,)]


def test_at_most_max_atoms_are_kept_and_dependencies_on_dropped_ones_vanish() -> None:
    text = reply(("a?", []), ("b?", []), ("c?", []), ("d?", [3]))
    atoms = parse_decomposition(text, 3)
    assert [a.question for a in atoms] == ["a?", "b?", "c?"]
    assert len(parse_decomposition(text, 4)) == 4


def test_repeated_and_blank_questions_are_dropped_and_their_dependents_remapped() -> None:
    atoms = parse_decomposition(
        reply(("What is x?", []), ("  ", []), ("what  is X?", []), ("y?", [3])), 4
    )
    assert atoms == [Atom(0, "What is x?"), Atom(1, "y?", (0,))]


def test_other_reply_shapes_are_read_too() -> None:
    listed = parse_decomposition('Here: ["first?", "second?"]', 4)
    assert [a.question for a in listed] == ["first?", "second?"]
    lines = parse_decomposition("Sub-questions:\n1. first?\n2) second?\n- third?", 4)
    assert [a.question for a in lines] == ["first?", "second?", "third?"]
    named = parse_decomposition(
        json.dumps({"sub_questions": [{"question": "a?", "dependencies": []}, {"q": 1}]}), 4
    )
    assert [a.question for a in named] == ["a?"]
    assert parse_decomposition("no structure at all", 4) == []
    assert parse_decomposition('{"subquestions": "nope"}', 4) == []


def test_atomic_means_at_most_one_sub_question() -> None:
    assert is_atomic([])
    assert is_atomic([Atom(0, "a?")])
    assert not is_atomic([Atom(0, "a?"), Atom(1, "b?")])


@pytest.mark.parametrize(
    ("deps", "depth"),
    [
        ([], 0),
        ([()], 1),
        ([(), ()], 1),
        ([(), (0,)], 2),
        ([(), (), (0, 1)], 2),
        ([(), (0,), (1,), (0,)], 3),
    ],
)
def test_depth_is_the_longest_dependency_chain(deps: list[tuple[int, ...]], depth: int) -> None:
    atoms = [Atom(i, f"q{i}?", d) for i, d in enumerate(deps)]
    assert dag_depth(atoms) == depth


def test_the_schema_bounds_the_sub_questions() -> None:
    schema = decomposition_schema(3)
    items = schema["properties"]["subquestions"]
    assert items["maxItems"] == 3 and items["minItems"] == 1
    assert items["items"]["properties"]["depends_on"]["items"]["maximum"] == 3


def test_prompts_show_what_each_step_needs() -> None:
    assert "at most 3" in decompose_prompt(" Q ", 3) and "Q" in decompose_prompt("Q", 3)
    assert "sub?" in atom_prompt("Q", Atom(0, "sub?"))
    contract = contract_prompt("Q", [(Atom(0, "a?"), " 5 ")], [Atom(1, "b?", (0,))])
    assert "- a? -> 5" in contract and "- b?" in contract and "Still to solve" in contract
    assert "Still to solve" not in contract_prompt("Q", [(Atom(0, "a?"), "5")], [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Question: What is 2 + 3?", "What is 2 + 3?"),
        ('New question: "What is 5?"', "What is 5?"),
        ("What is 7?", "What is 7?"),
        ("   ", "fallback"),
        ("Question:", "fallback"),
    ],
)
def test_contracted_question_is_read_from_the_reply(text: str, expected: str) -> None:
    assert contracted_question(text, "fallback") == expected
