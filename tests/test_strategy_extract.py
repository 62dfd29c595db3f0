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


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0.0000001", "0.0000001"),  # plain decimals, never "1E-7"
        ("Answer: MAX", "max"),  # only punctuation is stripped from the end
        ("Answer: the answer is 42", "42"),  # prefixes are stripped until none is left
        ('""', '""'),  # a wrapper with nothing inside is kept
        ("$", "$"),
        ("£5", "5"),
        ("€5", "5"),
    ],
)
def test_normalize_answer_edges(raw: str, expected: str) -> None:
    assert normalize_answer(raw) == expected


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        ('{"a": {"b": 1}}', "a.0", None),  # a digit key on an object is a key, not an index
        ('{"items": [1, 2]}', "items.2", None),  # past the end of the list
        ('{"items": [1, 2]}', "items.1", "2"),
        ('{"ok": true}', "ok", "true"),
        ('{"ok": false}', "ok", "false"),
        # Arrays count as JSON values too, and the last one with the field wins.
        ('[{"a": 1}] and [{"a": 2}]', "0.a", "2"),
        ("[[1, 2], [3]]", "1.0", "3"),  # a whole array, from its first bracket
        # A "{" that starts no JSON is skipped one character at a time.
        ('{{"answer": 5}', "answer", "5"),
    ],
)
def test_json_field_paths(text: str, field: str, expected: str | None) -> None:
    assert extract_answer(text, "json_field", field=field) == expected


def test_a_json_object_answer_is_written_with_sorted_keys() -> None:
    text = '{"r": {"b": 1, "a": 2}}'
    assert extract_answer(text, "json_field", field="r", normalize=False) == '{"a": 2, "b": 1}'


def test_json_booleans_are_written_in_lower_case() -> None:
    assert extract_answer('{"ok": true}', "json_field", field="ok", normalize=False) == "true"
    assert extract_answer('{"ok": false}', "json_field", field="ok", normalize=False) == "false"


def test_last_line_is_the_last_one() -> None:
    assert extract_answer("one\ntwo\nthree", "last_line") == "three"


def test_regex_named_group_case_and_lines() -> None:
    assert extract_answer("Bob says 42", "regex", pattern=r"(\w+) says (?P<answer>\d+)") == "42"
    assert extract_answer("answer: 5", "regex", pattern=r"ANSWER: (\d+)") == "5"
    assert extract_answer("x\nanswer: 7\ny", "regex", pattern=r"^answer: (\d+)$") == "7"


def test_setting_messages_in_full() -> None:
    cases = [
        (
            lambda: check_extraction("regex"),
            "answer extraction 'regex' needs a pattern; set pattern, e.g. 'answer is\\s*(\\S+)'",
        ),
        (
            lambda: check_extraction("json_field"),
            "answer extraction 'json_field' needs a field name; set field, e.g. 'answer' "
            "(dotted paths like 'result.value' reach nested objects)",
        ),
        (
            lambda: compile_answer_pattern("("),
            "answer pattern '(' is not a valid regular expression (missing ), unterminated "
            "subpattern at position 0); fix the regex, e.g. 'answer is\\s*(\\S+)'",
        ),
        (
            lambda: compile_answer_pattern("x"),
            "answer pattern 'x' has no capturing group; wrap the answer part in parentheses, "
            "e.g. 'answer is\\s*(\\S+)', or name it (?P<answer>...)",
        ),
    ]
    for call, message in cases:
        with pytest.raises(ConfigError) as caught:
            call()
        assert str(caught.value) == message
