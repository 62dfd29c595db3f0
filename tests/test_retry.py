"""Retry policy: which errors are transient, the backoff's growth, jitter and cap."""

from __future__ import annotations

import random

import pytest

from orchestrator.errors import BackendUnavailable, ModelOutputError, PlanError
from orchestrator.retry import MAX_BACKOFF_S, backoff_delay, describe_error, is_transient


class FixedRandom(random.Random):
    """A random source that always draws ``value``."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


@pytest.mark.parametrize(
    "exc",
    [
        BackendUnavailable("overloaded", status=503),
        BackendUnavailable("refused"),
        TimeoutError("slow"),
        ConnectionResetError("reset"),
        OSError("network is unreachable"),
    ],
)
def test_transient_errors(exc: BaseException) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        BackendUnavailable("bad request", retryable=False, status=400),
        ValueError("bad tool arguments"),
        KeyError("x"),
        PlanError("cyclic", problems=["a → a"]),
        ModelOutputError("no JSON", output="hmm"),
        RuntimeError("bug"),
    ],
)
def test_permanent_errors(exc: BaseException) -> None:
    assert not is_transient(exc)


def test_a_backend_error_without_a_retryable_flag_counts_as_transient() -> None:
    exc = BackendUnavailable("down")
    del exc.retryable
    assert is_transient(exc)


def test_backoff_doubles_with_each_attempt() -> None:
    middle = FixedRandom(0.5)  # factor 1.0
    assert [backoff_delay(n, 0.5, middle) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]


def test_jitter_scales_the_wait_by_half_to_one_and_a_half() -> None:
    assert backoff_delay(1, 2.0, FixedRandom(0.0)) == 1.0
    assert backoff_delay(1, 2.0, FixedRandom(0.25)) == 1.5
    assert backoff_delay(3, 2.0, FixedRandom(0.999)) == pytest.approx(8 * 1.499)


def test_backoff_is_capped_at_max_s() -> None:
    assert MAX_BACKOFF_S == 30.0
    rng = FixedRandom(0.5)
    assert backoff_delay(10, 1.0, rng) == 30.0
    assert backoff_delay(3, 1.0, rng, max_s=4.0) == 4.0
    assert backoff_delay(3, 1.0, rng, max_s=4.5) == 4.0
    assert isinstance(backoff_delay(10, 1, rng, max_s=3), float)


def test_backoff_draws_from_the_given_random_source() -> None:
    first = [backoff_delay(2, 1.0, random.Random(7)) for _ in range(2)]
    assert first[0] == first[1]
    assert first[0] == 2 * (0.5 + random.Random(7).random())


def test_describe_error_gives_type_and_message() -> None:
    assert describe_error(ValueError("bad tool arguments")) == "ValueError: bad tool arguments"
    assert describe_error(TimeoutError()) == "TimeoutError"
    assert describe_error(BackendUnavailable("down")) == "BackendUnavailable: down"
