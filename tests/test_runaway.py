"""The decode loop's runaway check: a short unit repeated to the end of the text."""

from __future__ import annotations

import pytest

from orchestrator.models.runaway import repeating_tail


@pytest.mark.parametrize(
    "text",
    [
        '{"subquestions": [{"id": "q", "question": "What?' + "]" * 60,
        "Sub-question: " + "1. " * 20,
        '{"thought": "' + "the cycle is " * 12,
        "x" * 5 + "ab" * 40,
    ],
)
def test_a_loop_at_the_end_is_a_runaway(text: str) -> None:
    assert repeating_tail(text)


@pytest.mark.parametrize(
    "text",
    [
        '{"subquestions": [{"id": "refcount", "question": "What is reference counting?"}]}',
        "Wait........ then go.",
        "]" * 20,
        "ab" * 40 + " and then the model went on to say something else entirely.",
        "",
    ],
)
def test_ordinary_text_and_short_repeats_are_not(text: str) -> None:
    assert not repeating_tail(text)
