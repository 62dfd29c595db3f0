"""The strategy chooser's pure parts: reading profiles, families, fitting, ties, fallbacks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agents.strategies.auto_choice import (
    ANY_FAMILY,
    Limits,
    Profile,
    Weights,
    choose,
    classify_question,
    family_rows,
    fits,
    parse_profiles,
    utility,
)
from orchestrator.errors import ConfigError


def profile(name: str, accuracy: float, tokens: float, wall: float = 1.0, **extra: Any) -> Profile:
    return Profile(
        operator=extra.pop("operator", "vote"),
        config=name,
        params=extra.pop("params", {}),
        accuracy=accuracy,
        tokens_per_question=tokens,
        wall_s_per_question=wall,
        task_family=extra.pop("task_family", "math"),
        **extra,
    )


ROWS = [
    profile("single", 0.6, 70, 0.5),
    profile("vote 8", 0.93, 470, 1.0),
    profile("vote 16", 0.99, 930, 1.0),
    profile("tournament", 0.98, 6600, 8.0),
]


def pick(limits: Limits, weights: Weights | None = None, rows: list[Profile] = ROWS) -> str:
    return choose(rows, family="math", limits=limits, weights=weights or Weights()).profile.name


def test_the_most_accurate_profile_that_fits_wins() -> None:
    assert pick(Limits()) == "vote 16"
    assert pick(Limits(tokens=930)) == "vote 16"
    assert pick(Limits(tokens=929)) == "vote 8"
    assert pick(Limits(tokens=470)) == "vote 8"
    assert pick(Limits(tokens=469)) == "single"


def test_the_safety_factor_applies_to_tokens() -> None:
    assert pick(Limits(tokens=1116), Weights(safety=1.2)) == "vote 16"
    assert pick(Limits(tokens=1115), Weights(safety=1.2)) == "vote 8"


def test_latency_limits_the_choice_too() -> None:
    rows = [*ROWS, profile("slow best", 1.0, 100, 5.0)]
    assert pick(Limits(latency_s=5.0), rows=rows) == "slow best"
    assert pick(Limits(latency_s=4.99), rows=rows) == "vote 16"
    assert pick(Limits(latency_s=0.5), rows=rows) == "single"


def test_when_nothing_fits_the_cheapest_is_taken_and_the_reason_says_so() -> None:
    choice = choose(ROWS, family="math", limits=Limits(tokens=10), weights=Weights())
    assert choice.profile.name == "single"
    assert choice.feasible == 0 and choice.considered == 4
    assert "none of 4 profiles fits 10 tokens" in choice.reason


def test_near_ties_go_to_the_cheapest() -> None:
    rows = [profile("a", 0.95, 900), profile("b", 0.948, 300), profile("c", 0.90, 100)]
    assert pick(Limits(), Weights(tie_margin=0.0), rows) == "a"
    assert pick(Limits(), Weights(tie_margin=0.002), rows) == "b"
    assert pick(Limits(), Weights(tie_margin=0.05), rows) == "c"
    choice = choose(rows, family="math", limits=Limits(), weights=Weights(tie_margin=0.002))
    assert "the cheapest of 2 within 0.002" in choice.reason


def test_exact_ties_go_to_fewer_tokens_then_less_time_then_surer_then_name() -> None:
    rows = [
        profile("z", 0.9, 100, 2.0),
        profile("y", 0.9, 100, 1.0, ci_low=0.8),
        profile("x", 0.9, 100, 1.0, ci_low=0.85),
        profile("w", 0.9, 200, 0.1),
    ]
    assert pick(Limits(), rows=rows) == "x"
    same = [profile("b", 0.9, 100, 1.0), profile("a", 0.9, 100, 1.0)]
    assert pick(Limits(), rows=same) == "a"


def test_penalties_trade_accuracy_for_tokens_and_time() -> None:
    assert utility(ROWS[2], Weights(token_penalty=0.1)) == pytest.approx(0.99 - 0.093)
    assert utility(ROWS[2], Weights(latency_penalty=0.01)) == pytest.approx(0.98)
    assert pick(Limits(), Weights(token_penalty=0.1)) == "vote 16"
    assert pick(Limits(), Weights(token_penalty=0.2)) == "vote 8"
    assert pick(Limits(), Weights(token_penalty=1.0)) == "single"
    timed = [profile("fast", 0.9, 100, 0.1), profile("slow", 0.95, 100, 2.0)]
    assert pick(Limits(), Weights(latency_penalty=0.02), timed) == "slow"
    assert pick(Limits(), Weights(latency_penalty=0.03), timed) == "fast"
    reason = choose(ROWS, family="math", limits=Limits(), weights=Weights(token_penalty=0.1))
    assert "net of the token and latency penalties" in reason.reason


def test_fits_at_the_boundaries() -> None:
    row = profile("r", 0.5, 100, 2.0)
    assert fits(row, Limits(tokens=100, latency_s=2.0), Weights())
    assert not fits(row, Limits(tokens=99.9), Weights())
    assert not fits(row, Limits(latency_s=1.99), Weights())
    assert fits(row, Limits(), Weights(safety=10))


def test_an_unknown_family_falls_back_to_every_profile() -> None:
    rows = [profile("m", 0.9, 100), profile("g", 0.7, 100, task_family="general")]
    choice = choose(rows, family="code", limits=Limits(), weights=Weights())
    assert choice.profile.name == "m" and choice.family == ANY_FAMILY
    assert "no profile for family 'code'" in choice.reason
    assert choose(rows, family="general", limits=Limits(), weights=Weights()).profile.name == "g"


def test_family_any_rows_count_for_every_family_and_the_model_is_preferred() -> None:
    rows = [
        profile("mine", 0.6, 100, model="m1"),
        profile("other", 0.9, 100, model="m2"),
        profile("any", 0.8, 100, model="m1", task_family=ANY_FAMILY),
    ]
    picked, used = family_rows(rows, "math", "m1")
    assert [p.name for p in picked] == ["mine", "any"] and used == "math"
    picked, _ = family_rows(rows, "math", "unknown-model")
    assert len(picked) == 3
    picked, _ = family_rows(rows, "math", None)
    assert len(picked) == 3


def test_no_profiles_is_an_error() -> None:
    with pytest.raises(ConfigError, match="no profile"):
        choose([], family="math", limits=Limits(), weights=Weights())


def test_profiles_are_read_from_json_lines_with_comments_or_a_json_array() -> None:
    row = {"operator": "vote", "accuracy": 0.9, "tokens_per_question": 10, "extra": 1}
    lines = f"# measured on x\n\n{json.dumps(row)}\n  # another\n{json.dumps(row)}\n"
    assert len(parse_profiles(lines, "p.jsonl")) == 2
    array = parse_profiles(json.dumps([row]), "q.json")
    assert array[0].operator == "vote" and array[0].task_family == ANY_FAMILY
    assert array[0].name == "vote {}"


def test_bad_profile_rows_are_reported_together_with_their_lines() -> None:
    good = json.dumps({"operator": "vote", "accuracy": 0.9, "tokens_per_question": 1})
    text = "\n".join([good, "{not json", json.dumps({"operator": "vote", "accuracy": 1.5}), "[1]"])
    with pytest.raises(ConfigError) as info:
        parse_profiles(text, "p.jsonl")
    message = str(info.value)
    assert "line 2: not JSON" in message
    assert "row 3: accuracy" in message and "tokens_per_question" in message
    assert "row 4" in message and "p.jsonl" in message
    with pytest.raises(ConfigError, match="not valid JSON"):
        parse_profiles("[{", "q.json")


@pytest.mark.parametrize(
    ("question", "family"),
    [
        ("What is 17 * 23?", "math"),
        ("What is 17*23?", "math"),
        ("Compute the remainder of 10 by 3.", "math"),
        ("How many legs do 3 spiders have?", "math"),
        ("End with 'the answer is N'.", "math"),
        ("Explain why the sky is blue.", "general"),
        ("Who wrote Hamlet in 1600?", "general"),
    ],
)
def test_questions_are_classified_by_family(question: str, family: str) -> None:
    assert classify_question(question) == family
