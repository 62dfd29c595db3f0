"""Answer extraction and normalization for self-consistency voting."""

from __future__ import annotations

import re

import pytest

from agents.strategies.extract import (
    check_extraction,
    compile_answer_pattern,
    extract_answer,
    normalize_answer,
)
from orchestrator.errors import ConfigError


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1,000", "1000"),
        ("1000", "1000"),
        ("3.0", "3"),
        ("3.", "3"),
        ("42.", "42"),
        ("$1,234.50", "1234.5"),
        ("-0.50", "-0.5"),
        (".5", "0.5"),
        ("+7", "7"),
        ("-0", "0"),
        ("**Answer: 42.**", "42"),
        ("The answer is 12", "12"),
        ("$x^2$", "x^2"),
        ('"Paris"', "paris"),
        ("  New   York. ", "new york"),
        ("`B`", "b"),
    ],
)
def test_normalize_answer(raw: str, expected: str) -> None:
    assert normalize_answer(raw) == expected


def test_equal_numbers_normalize_equal() -> None:
    spellings = ["1,000", "1000", "1000.", "1000.0", "$1,000", "**1000**"]
    assert {normalize_answer(s) for s in spellings} == {"1000"}
    assert normalize_answer("1,000") != normalize_answer("100")


def test_last_number() -> None:
    text = "We have 3 apples and 12 pears, so the total is 1,015."
    assert extract_answer(text, "last_number") == "1015"
    assert extract_answer("x = -2.50 at the end", "last_number") == "-2.5"
    assert extract_answer("no digits at all", "last_number") is None
    assert extract_answer("step 2: the 3rd item costs $4", "last_number") == "4"


def test_regex_takes_last_match_and_named_group() -> None:
    text = "The answer is 12. On reflection, the answer is 13."
    assert extract_answer(text, "regex", pattern=r"answer is\s*(\S+)") == "13"
    named = r"(?:so|hence)\s+(?P<answer>[A-D])\b"
    assert extract_answer("hence B, not C", "regex", pattern=named) == "b"
    assert extract_answer("nothing here", "regex", pattern=r"answer is (\d+)") is None


def test_json_field_finds_last_object_with_field() -> None:
    text = 'Draft: {"answer": 3.0}\n```json\n{"reasoning": "x", "answer": "7"}\n```\nDone.'
    assert extract_answer(text, "json_field", field="answer") == "7"
    assert extract_answer('{"result": {"value": "Yes"}}', "json_field", field="result.value") == (
        "yes"
    )
    assert extract_answer('{"items": [{"v": 5}]}', "json_field", field="items.0.v") == "5"
    assert extract_answer('{"answer": 3.0} and {"other": 1}', "json_field", field="answer") == "3"
    assert extract_answer('{"answer": null}', "json_field", field="answer") is None
    assert extract_answer("{not json} and no field", "json_field", field="answer") is None


def test_boxed_handles_nested_braces() -> None:
    text = r"First \boxed{1}, finally \boxed{\frac{1}{2}} done"
    assert extract_answer(text, "boxed") == r"\frac{1}{2}"
    assert extract_answer(r"\boxed{1,000}", "boxed") == "1000"
    assert extract_answer(r"unterminated \boxed{12", "boxed") is None
    assert extract_answer("no box", "boxed") is None


def test_last_line() -> None:
    assert extract_answer("reasoning...\nFinal answer: B.\n\n  \n", "last_line") == "b"
    assert extract_answer("   \n\n", "last_line") is None


def test_normalize_false_keeps_raw_text() -> None:
    assert extract_answer("total 1,000", "last_number", normalize=False) == "1,000"


def test_invalid_regex_names_pattern_and_fix() -> None:
    pattern = r"answer is (\d+"
    with pytest.raises(ConfigError, match=re.escape(repr(pattern)) + ".*not a valid regular"):
        extract_answer("x", "regex", pattern=pattern)


def test_pattern_without_group_names_fix() -> None:
    with pytest.raises(ConfigError, match=r"no capturing group.*parentheses"):
        compile_answer_pattern(r"answer is \d+")


def test_missing_settings_and_unknown_method() -> None:
    with pytest.raises(ConfigError, match="needs a pattern"):
        check_extraction("regex")
    with pytest.raises(ConfigError, match="needs a field"):
        check_extraction("json_field")
    with pytest.raises(ConfigError, match=r"'majority'.*last_number, regex"):
        check_extraction("majority")
