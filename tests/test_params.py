"""Op params checked against their pydantic model: one format for every problem, each with
its place, the bad value, the rule (bounds and default) and, for a typo, the likely name.
"""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from orchestrator.errors import ConfigError
from orchestrator.params import (
    ParamProblem,
    describe_field,
    describe_params,
    params_problems,
    parse_params,
)


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")

    op: str
    k: int = Field(default=2, ge=1)


class VoteParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    n: int = Field(default=8, ge=1, le=256)
    temperature: float = Field(default=0.7, gt=0, lt=2)
    extract: Literal["last_number", "boxed"] = "last_number"
    stop: list[str] = Field(default_factory=lambda: ["###"])
    inner: Inner | None = None


class Required(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rubric: str
    weights: list[int] = Field(default_factory=list)


class Registered(BaseModel):
    """A validator that checks a name against a registry raises ConfigError itself."""

    model_config = ConfigDict(extra="forbid")

    op: str

    @field_validator("op")
    @classmethod
    def known(cls, value: str) -> str:
        if value != "vote":
            raise ConfigError(f"unknown inner op {value!r}; known ops: vote")
        return value


class Checked(BaseModel):
    model_config = ConfigDict(extra="forbid")

    low: int = 0
    high: int = 1

    @field_validator("high")
    @classmethod
    def positive(cls, value: int) -> int:
        if value < 0:
            raise ValueError("must not be negative")
        return value


class Nothing(BaseModel):
    model_config = ConfigDict(extra="forbid")


def test_valid_params_have_no_problems() -> None:
    assert params_problems(VoteParams, {"n": 3, "extract": "boxed"}) == []
    assert params_problems(VoteParams, {}) == []


def test_a_value_out_of_bounds_names_value_rule_bounds_and_default() -> None:
    [problem] = params_problems(VoteParams, {"n": 0})
    assert problem.path == ("n",)
    assert problem.value == 0
    assert problem.rule == "Input should be greater than or equal to 1 (n: >= 1, <= 256, default 8)"
    assert problem.message == f"0: {problem.rule}"
    assert problem.sentence() == f"params.n = 0: {problem.rule}"


def test_exclusive_bounds_are_shown_as_strict() -> None:
    [problem] = params_problems(VoteParams, {"temperature": 2})
    assert problem.rule.endswith("(temperature: > 0, < 2, default 0.7)")
    assert problem.sentence().startswith("params.temperature = 2: Input should be less than 2")


def test_an_unknown_param_suggests_the_close_name_and_lists_the_params() -> None:
    [problem] = params_problems(VoteParams, {"temprature": 0.5})
    assert problem.path == ("temprature",)
    assert problem.rule == (
        "unknown param 'temprature'; did you mean 'temperature'? "
        "(the params are: n, temperature, extract, stop, inner)"
    )
    # The message of an unknown param carries no value: the name is the problem.
    assert problem.message == problem.rule
    assert problem.sentence() == f"params.temprature: {problem.rule}"


def test_an_unknown_param_with_no_close_name_gets_no_suggestion() -> None:
    [problem] = params_problems(VoteParams, {"zzz": 1})
    assert problem.rule == (
        "unknown param 'zzz' (the params are: n, temperature, extract, stop, inner)"
    )


def test_an_unknown_param_of_a_model_without_params_says_none() -> None:
    [problem] = params_problems(Nothing, {"n": 1})
    assert problem.rule == "unknown param 'n' (the params are: none)"


def test_a_missing_required_param_says_to_add_it() -> None:
    [problem] = params_problems(Required, {})
    assert problem.path == ("rubric",)
    assert problem.rule == "required param 'rubric' is missing; add it"
    assert problem.message == problem.rule


def test_every_problem_is_reported_at_once_in_field_order() -> None:
    problems = params_problems(VoteParams, {"n": 0, "extract": "first", "colour": "red"})
    assert [p.path for p in problems] == [("n",), ("extract",), ("colour",)]
    assert problems[1].value == "first"
    assert problems[1].rule.endswith("(extract: default 'last_number')")


def test_a_problem_inside_a_nested_param_keeps_its_whole_path() -> None:
    problems = params_problems(VoteParams, {"inner": {"op": "vote", "k": 0, "x": 1}})
    assert [p.path for p in problems] == [("inner", "k"), ("inner", "x")]
    k, extra = problems
    # The rule is the top-level field's, the place is the nested one.
    assert k.sentence() == (
        "params.inner.k = 0: Input should be greater than or equal to 1 (inner: default None)"
    )
    # Below the top level, an unknown key is pydantic's own message, with its value.
    assert (
        extra.sentence()
        == "params.inner.x = 1: Extra inputs are not permitted (inner: default None)"
    )


def test_a_missing_nested_param_is_not_taken_for_a_missing_top_level_one() -> None:
    [problem] = params_problems(VoteParams, {"inner": {}})
    assert problem.path == ("inner", "op")
    assert problem.rule == "Field required (inner: default None)"
    assert problem.value == {}


def test_a_list_item_problem_names_its_index() -> None:
    [problem] = params_problems(Required, {"rubric": "r", "weights": [1, "x"]})
    assert problem.path == ("weights", 1)
    assert problem.sentence().startswith("params.weights.1 = 'x': Input should be a valid integer")
    assert problem.rule.endswith("(weights: default [])")


def test_a_validator_message_loses_pydantics_prefix() -> None:
    [problem] = params_problems(Checked, {"high": -1})
    assert problem.rule == "must not be negative (high: default 1)"
    assert problem.value == -1


class Ordered(BaseModel):
    model_config = ConfigDict(extra="forbid")

    low: int = 0
    high: int = 1

    @model_validator(mode="after")
    def low_below_high(self) -> Ordered:
        if self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


def test_a_model_level_error_has_no_path_and_no_value() -> None:
    [problem] = params_problems(Ordered, {"low": 3, "high": 2})
    assert problem == ParamProblem((), "low (3) must be below high (2)")
    assert problem.message == problem.rule
    assert problem.sentence() == "params: low (3) must be below high (2)"


def test_a_registry_error_from_a_validator_is_one_problem_with_its_message() -> None:
    problems = params_problems(Registered, {"op": "vot"})
    assert problems == [ParamProblem((), "unknown inner op 'vot'; known ops: vote")]
    assert problems[0].sentence() == "params: unknown inner op 'vot'; known ops: vote"


def test_a_problem_whose_value_is_none_still_shows_it() -> None:
    [problem] = params_problems(VoteParams, {"n": None})
    assert problem.value is None
    assert problem.message.startswith("None: Input should be a valid integer")
    assert problem.sentence().startswith("params.n = None: ")


def test_parse_params_returns_the_model() -> None:
    parsed = parse_params(VoteParams, {"n": 5}, op="vote", where="node 'vote'")
    assert isinstance(parsed, VoteParams)
    assert (parsed.n, parsed.stop) == (5, ["###"])


def test_parse_params_raises_every_problem_with_the_valid_params_and_the_fix() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_params(VoteParams, {"n": 0, "temprature": 1}, op="vote", where="node 'vote'")
    assert str(caught.value) == (
        "bad params for op 'vote' (node 'vote'): "
        "params.n = 0: Input should be greater than or equal to 1 (n: >= 1, <= 256, default 8); "
        "params.temprature: unknown param 'temprature'; did you mean 'temperature'? "
        "(the params are: n, temperature, extract, stop, inner). "
        "Valid params: n (>= 1, <= 256, default 8), temperature (> 0, < 2, default 0.7), "
        "extract (default 'last_number'), stop (default ['###']), inner (default None). "
        "Fix them in the graph (`breadth validate FILE` shows each with its line)"
    )
    # One error a user reads, not pydantic's traceback chained to it.
    assert caught.value.__suppress_context__ or caught.value.__context__ is None


def test_parse_params_turns_a_registry_error_into_the_same_format() -> None:
    with pytest.raises(ConfigError, match=r"^bad params for op 'tournament' \(node 't'\): ") as c:
        parse_params(Registered, {"op": "vot"}, op="tournament", where="node 't'")
    assert "params: unknown inner op 'vot'; known ops: vote. Valid params: op (required)." in str(
        c.value
    )


def test_describe_params_lists_each_param_with_its_rule() -> None:
    assert describe_params(Required) == "rubric (required), weights (default [])"
    assert describe_params(Nothing) == "none"


def test_describe_field_shows_bounds_then_required_or_default() -> None:
    fields = VoteParams.model_fields
    assert describe_field(fields["n"]) == ">= 1, <= 256, default 8"
    assert describe_field(fields["temperature"]) == "> 0, < 2, default 0.7"
    assert describe_field(fields["stop"]) == "default ['###']"
    assert describe_field(Required.model_fields["rubric"]) == "required"


class Bounded(BaseModel):
    model_config = ConfigDict(extra="forbid")

    size: int = Field(ge=2, le=9)


def test_a_required_field_with_bounds_shows_both() -> None:
    assert describe_field(Bounded.model_fields["size"]) == ">= 2, <= 9, required"
    [problem] = params_problems(Bounded, {"size": 10})
    assert problem.rule == "Input should be less than or equal to 9 (size: >= 2, <= 9, required)"


class Aliased(BaseModel):
    """A param whose YAML name (its alias) differs from its Python name."""

    model_config = ConfigDict(extra="forbid")

    source: int = Field(default=1, alias="from", ge=1)


def test_a_param_known_by_its_alias_gets_no_rule_it_cannot_look_up() -> None:
    [problem] = params_problems(Aliased, {"from": 0})
    assert problem.path == ("from",)
    assert problem.rule == "Input should be greater than or equal to 1"
    assert problem.sentence() == "params.from = 0: Input should be greater than or equal to 1"
