"""Structured output: parsing a model's JSON reply against a schema, and retrying."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from orchestrator.errors import ModelOutputError
from orchestrator.models.protocol import ChatMessage
from orchestrator.models.structured import generate_structured, parse_json_output
from orchestrator.testing import ScriptedModel


class Answer(BaseModel):
    answer: str
    score: int


def test_fences_surrounding_text_and_raw_control_characters_are_tolerated() -> None:
    text = 'Sure:\n```json\n{"answer": "line one\nline\ttwo", "score": 3}\n```'
    assert parse_json_output(text, Answer) == Answer(answer="line one\nline\ttwo", score=3)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("no json here", "not JSON"), ('{"answer": "x"}', "score: Field required")],
)
def test_bad_output_names_the_problem_and_keeps_the_output(text: str, fragment: str) -> None:
    with pytest.raises(ModelOutputError) as info:
        parse_json_output(text, Answer)
    assert fragment in str(info.value)
    assert info.value.output == text


async def test_a_bad_reply_is_retried() -> None:
    model = ScriptedModel(["garbage", '{"answer": "ok", "score": 1}'])
    value, usage = await generate_structured(
        model, [ChatMessage(role="user", content="q")], Answer, attempts=2
    )
    assert value.answer == "ok" and len(model.calls) == 2 and usage.total_tokens > 0
