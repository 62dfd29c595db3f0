"""Plan quality checks and citation grounding: pure functions over plain text."""

from __future__ import annotations

import pytest

from agents.grounding import grounded_ids, merge_hits, supports
from agents.plan_quality import (
    copies_question,
    degenerate,
    derived_subquestions,
    key_phrases,
    plan_text_problems,
    usable_subquestions,
)

QUESTION = "How does Python's garbage collector handle reference cycles?"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (f"{QUESTION} 1. 1. 1. 2. 1. 3. 2", "list numbers"),
        ("What is 1) 2) 3) reference counting?", "list numbers"),
        ("What are cycles cycles cycles?", "repeats a word"),
        ("Why?", "fewer than 3 words"),
        ("What is 12 34 56 78 about?", "mostly numbers"),
        ("What is the cycle of a cycle in a cycle collector?", "repeats 'cycle' 3 times"),
        ("What is it and how is it?", "names nothing"),
    ],
)
def test_degenerate_text_is_named(text: str, reason: str) -> None:
    found = degenerate(text)
    assert found is not None and reason in found


@pytest.mark.parametrize(
    "text",
    [
        "What is reference counting?",
        "How does the gc module detect cyclic garbage?",
        "What changed in Python 3.12 for the garbage collector?",
        "What does the with statement do?",
    ],
)
def test_well_formed_subquestions_pass(text: str) -> None:
    assert degenerate(text) is None


def test_a_copy_of_the_question_is_recognized() -> None:
    assert copies_question(QUESTION, QUESTION)
    assert copies_question("How does the garbage collector handle reference cycles?", QUESTION)
    assert copies_question(f"{QUESTION} Explain.", QUESTION)
    assert not copies_question("What is a reference cycle?", QUESTION)


def test_plan_problems_name_every_bad_subquestion_and_the_missing_width() -> None:
    problems = plan_text_problems(
        QUESTION,
        [
            ("a", f"{QUESTION} 1. 1. 1. 2. 1. 3. 2"),
            ("b", "What is reference counting?"),
            ("c", "What is reference counting in Python?"),
            ("d", "How does the garbage collector handle reference cycles?"),
        ],
        fewest=3,
    )
    assert len(problems) == 4
    assert "'a'" in problems[0] and "list numbers" in problems[0]
    assert "'c'" in problems[1] and "same as sub-question 'b'" in problems[1]
    assert "'d'" in problems[2] and "repeats the question" in problems[2]
    assert "1 usable sub-question;" in problems[3] and "at least 3" in problems[3]


def test_a_good_plan_has_no_problems() -> None:
    subs = [
        ("refcount", "What is reference counting?"),
        ("cycles", "What is a reference cycle?"),
        ("gc-module", "How does the gc module find cyclic garbage?"),
    ]
    assert plan_text_problems(QUESTION, subs, fewest=3) == []


def test_usable_subquestions_keep_the_first_good_distinct_ones() -> None:
    kept = usable_subquestions(
        QUESTION,
        ["What is reference counting?", "1. 2. 3.", "What is reference counting?", "What is gc?"],
        limit=5,
    )
    assert kept == ["What is reference counting?", "What is gc?"]
    assert usable_subquestions(QUESTION, kept, limit=1) == ["What is reference counting?"]


def test_derived_subquestions_come_from_the_questions_own_phrases() -> None:
    assert key_phrases(QUESTION) == ["Python's garbage collector", "reference cycles"]
    derived = derived_subquestions(QUESTION, 3)
    assert derived == [
        "What is meant by Python's garbage collector?",
        "What is meant by reference cycles?",
        "How does Python's garbage collector relate to reference cycles?",
    ]
    numbered = [(str(i), text) for i, text in enumerate(derived)]
    assert plan_text_problems(QUESTION, numbered, fewest=3) == []


@pytest.mark.parametrize(
    "question",
    [
        "How do generators work?",
        "What does the with statement do?",
        "What is the difference between a list and a tuple?",
    ],
)
def test_derived_subquestions_are_distinct_and_name_the_questions_terms(question: str) -> None:
    derived = derived_subquestions(question, 3)
    assert len(derived) == 3
    assert (
        plan_text_problems(question, [(str(i), t) for i, t in enumerate(derived)], fewest=3) == []
    )
    for phrase in key_phrases(question):
        assert any(phrase in text for text in derived)


def test_a_question_without_meaningful_words_derives_nothing() -> None:
    assert derived_subquestions("How is it?", 3) == []


SEEN = {
    "objects": "[objects] Objects, values and types — CPython uses reference counting with "
    "delayed detection of cyclically linked garbage.",
    "with": "[with] The with statement — wraps a block with methods of a context manager.",
}


def test_a_citation_is_kept_when_the_document_holds_the_claims_words() -> None:
    claim = "CPython detects cyclically linked garbage after reference counting."
    assert supports(claim, SEEN["objects"])
    assert grounded_ids(claim, ["objects"], SEEN) == ["objects"]


def test_a_wrong_citation_moves_to_the_document_that_holds_the_claim() -> None:
    claim = "CPython detects cyclically linked garbage after reference counting."
    assert not supports(claim, SEEN["with"])
    assert grounded_ids(claim, ["with"], SEEN) == ["objects"]


def test_a_claim_no_document_supports_is_left_uncited() -> None:
    claim = "Lists are sorted with the timsort algorithm."
    assert grounded_ids(claim, ["objects"], SEEN) == []


def test_a_document_known_only_by_title_keeps_its_citation() -> None:
    assert grounded_ids("Weak references break cycles.", ["weakref"], SEEN) == ["weakref"]


def test_merged_hits_alternate_between_queries_each_document_once() -> None:
    first = "[a] A — x\n[b] B — x\n[c] C — x"
    second = "[b] B — y\n[d] D — y"
    assert merge_hits([first, second], 3).splitlines() == ["[a] A — x", "[b] B — y", "[c] C — x"]
    assert merge_hits([first, second], 9).splitlines()[-1] == "[d] D — y"


def test_a_plan_of_one_sub_question_may_be_the_question_itself() -> None:
    [problem] = plan_text_problems(QUESTION, [("q1", QUESTION)], fewest=1)[:1]
    assert "only repeats the question" in problem
    assert plan_text_problems(QUESTION, [("q1", QUESTION)], fewest=1, allow_copy=True) == []
    assert usable_subquestions(QUESTION, [QUESTION], limit=1) == [QUESTION]
    assert usable_subquestions(QUESTION, [QUESTION], limit=2) == []
