"""DeepConf (Fu et al., 2025) token and trace confidence measures."""

from __future__ import annotations

import math
import random

import pytest

from agents.strategies.vote_confidence import (
    SlidingWindowMonitor,
    bottom_percent_confidence,
    calibrate_threshold,
    group_confidences,
    lowest_group_confidence,
    mean_confidence,
    percentile,
    resolve_mode,
    tail_confidence,
    token_confidence,
    token_confidences,
    trace_confidence,
)
from orchestrator.errors import ConfigError
from orchestrator.models.protocol import TokenLogprob


def _top(token: str, *logprobs: float) -> TokenLogprob:
    alternatives = {f"{token}{i}": lp for i, lp in enumerate(logprobs)}
    return TokenLogprob(token=token, logprob=logprobs[0], top_logprobs=alternatives)


def test_top_k_token_confidence_is_negative_mean_of_top_logprobs() -> None:
    peaked = _top("a", -0.01, -6.0, -8.0)
    flat = _top("b", -1.0, -1.2, -1.3)
    assert token_confidence(peaked, "top_k") == pytest.approx((0.01 + 6.0 + 8.0) / 3)
    assert token_confidence(peaked, "top_k") > token_confidence(flat, "top_k")


def test_chosen_mode_uses_the_chosen_logprob() -> None:
    tokens = [TokenLogprob(token="x", logprob=-0.2), TokenLogprob(token="y", logprob=-1.5)]
    assert token_confidences(tokens) == [-0.2, -1.5]
    assert mean_confidence(token_confidences(tokens)) == pytest.approx(-0.85)


def test_auto_mode_uses_one_scale_per_trace() -> None:
    full = [_top("a", -0.1, -3.0), _top("b", -0.5, -1.0)]
    assert token_confidences(full) == pytest.approx([1.55, 0.75])
    mixed = [*full, TokenLogprob(token="c", logprob=-0.3)]
    assert token_confidences(mixed) == [-0.1, -0.5, -0.3]
    assert token_confidences([]) == []


def test_top_k_without_alternatives_says_how_to_fix() -> None:
    with pytest.raises(ValueError, match="top_logprobs >= 2"):
        token_confidences([TokenLogprob(token="x", logprob=-0.1)], mode="top_k")


def test_group_confidences_match_naive_windows() -> None:
    rng = random.Random(3)
    values = [rng.uniform(0.0, 5.0) for _ in range(50)]
    groups = group_confidences(values, window=7)
    naive = [sum(values[i : i + 7]) / 7 for i in range(len(values) - 6)]
    assert groups == pytest.approx(naive)
    assert lowest_group_confidence(values, 7) == pytest.approx(min(naive))


def test_short_trace_is_one_group() -> None:
    assert group_confidences([1.0, 3.0], window=5) == [2.0]
    assert lowest_group_confidence([1.0, 3.0]) == 2.0


def test_lowest_group_catches_a_local_dip_the_mean_hides() -> None:
    steady = [5.0] * 40
    dipped = [6.0] * 17 + [0.5] * 6 + [6.0] * 17
    assert mean_confidence(dipped) > mean_confidence(steady) - 1.0
    assert lowest_group_confidence(dipped, 6) < lowest_group_confidence(steady, 6)
    assert lowest_group_confidence(dipped, 6) == pytest.approx(0.5)


def test_tail_and_bottom_percent() -> None:
    values = [float(i) for i in range(1, 11)]
    assert tail_confidence(values, tail=3) == pytest.approx(9.0)
    assert tail_confidence(values, tail=100) == pytest.approx(5.5)
    # windows of 2: means 1.5, 2.5, ..., 9.5 (9 groups); bottom 20% -> 2 groups.
    assert bottom_percent_confidence(values, 20, window=2) == pytest.approx(2.0)
    assert bottom_percent_confidence(values, 100, window=2) == pytest.approx(5.5)


def test_trace_confidence_dispatches_measures() -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    assert trace_confidence(values, "mean") == 2.5
    assert trace_confidence(values, "lowest_group", window=2) == 1.5
    assert trace_confidence(values, "tail", tail=1) == 4.0
    assert trace_confidence(values, "bottom_percent", window=2, percent=50) == 2.0
    with pytest.raises(ConfigError, match=r"'median'.*mean, lowest_group"):
        trace_confidence(values, "median")  # type: ignore[arg-type]


def test_bad_parameters() -> None:
    with pytest.raises(ConfigError, match="window 0"):
        group_confidences([1.0], window=0)
    with pytest.raises(ConfigError, match=r"\(0, 100\]"):
        bottom_percent_confidence([1.0], 0)
    with pytest.raises(ValueError, match="empty trace"):
        mean_confidence([])


def test_monitor_waits_for_a_full_window_then_flags_low_means() -> None:
    monitor = SlidingWindowMonitor(window=3, threshold=2.0)
    assert [monitor.push(c) for c in (0.0, 0.0)] == [False, False]
    assert monitor.current is None
    assert monitor.push(0.0) is True
    assert monitor.current == 0.0
    healthy = SlidingWindowMonitor(window=3, threshold=2.0)
    assert [healthy.push(c) for c in (3.0, 3.0, 1.0, 3.0, 2.0, 0.4)] == [
        False,
        False,
        False,
        False,
        False,
        True,
    ]
    assert healthy.lowest == pytest.approx(1.8)


def test_monitor_agrees_with_offline_windows_on_long_streams() -> None:
    rng = random.Random(11)
    values = [rng.uniform(0.0, 3.0) for _ in range(400)]
    monitor = SlidingWindowMonitor(window=16, threshold=-1.0)
    assert not any(monitor.push(v) for v in values)
    assert monitor.lowest == pytest.approx(lowest_group_confidence(values, 16))
    assert monitor.count == 400


def test_percentile_matches_linear_interpolation() -> None:
    values = [4.0, 1.0, 3.0, 2.0]
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 50) == 2.5
    assert percentile(values, 90) == pytest.approx(3.7)


def test_calibrate_threshold_deepconf_low_and_high() -> None:
    warmup = [float(i) for i in range(1, 17)]
    low = calibrate_threshold(warmup, keep_percent=10)
    high = calibrate_threshold(warmup, keep_percent=90)
    assert low == pytest.approx(percentile(warmup, 90))
    assert high == pytest.approx(percentile(warmup, 10))
    assert high < low
    kept_low = [v for v in warmup if v >= low]
    assert 1 <= len(kept_low) <= 2
    with pytest.raises(ConfigError, match="keep_percent 0"):
        calibrate_threshold(warmup, 0)
    with pytest.raises(ConfigError, match="zero warm-up traces"):
        calibrate_threshold([], 10)


def test_messages_name_the_value_and_the_fix() -> None:
    for call, what in (
        (lambda: mean_confidence([]), "mean confidence"),
        (lambda: group_confidences([]), "group confidence"),
        (lambda: tail_confidence([]), "tail confidence"),
    ):
        with pytest.raises(ValueError) as empty:
            call()
        assert str(empty.value) == (
            f"{what} of an empty trace is undefined; skip traces with no tokens"
        )
    with pytest.raises(ConfigError) as tail:
        tail_confidence([1.0], tail=0)
    assert str(tail.value) == "confidence tail 0 must be >= 1 token; e.g. tail=2048"
    with pytest.raises(ValueError) as top_k:
        token_confidence(TokenLogprob(token="x", logprob=-0.1), "top_k")
    assert str(top_k.value) == (
        "token 'x' has no top_logprobs, so its top-k confidence is undefined; "
        "request top_logprobs >= 2 or use mode='chosen'"
    )
    with pytest.raises(ValueError) as no_values:
        percentile([], 50)
    assert str(no_values.value) == "percentile of no values is undefined"
    with pytest.raises(ConfigError) as q:
        percentile([1.0], 100.5)
    assert str(q.value) == "percentile 100.5 is out of range; use a value in [0, 100]"
    with pytest.raises(ConfigError) as threshold:
        SlidingWindowMonitor(2, float("inf"))
    assert str(threshold.value) == "confidence threshold inf must be a finite number"


def test_calibration_bounds_and_messages() -> None:
    assert calibrate_threshold([1.0, 2.0, 3.0], 100.0) == 1.0
    assert calibrate_threshold([1.0, 2.0, 3.0], 0.5) == pytest.approx(2.99)
    with pytest.raises(ConfigError) as keep:
        calibrate_threshold([1.0], 100.5)
    assert str(keep.value) == (
        "keep_percent 100.5 is out of range; use a value in (0, 100], "
        "e.g. 10 (DeepConf-low) or 90 (DeepConf-high)"
    )
    with pytest.raises(ConfigError) as none:
        calibrate_threshold([], 10)
    assert str(none.value) == (
        "cannot calibrate a confidence threshold from zero warm-up traces; "
        "run at least one warm-up trace (DeepConf uses 16)"
    )


def test_auto_mode_resolves_to_top_k_when_every_token_has_alternatives() -> None:
    tokens = [TokenLogprob(token="a", logprob=-0.1, top_logprobs={"a": -0.1, "b": -2.3})]
    assert resolve_mode(tokens, "auto") == "top_k"
    assert resolve_mode([], "auto") == "chosen"


def test_the_default_measure_is_the_lowest_group() -> None:
    confidences = [5.0] * 4 + [1.0, 1.0] + [5.0] * 4
    assert trace_confidence(confidences, window=2) == 1.0
    assert mean_confidence(confidences) != 1.0


def test_bottom_percent_bounds_and_counts() -> None:
    # 11 tokens, window 2: 10 groups, the means of [0, 1], [1, 2], ...: 0.5, 1.5, ... 9.5.
    confidences = [float(i) for i in range(11)]
    assert bottom_percent_confidence(confidences, 100.0, window=2) == 5.0
    assert bottom_percent_confidence(confidences, 0.5, window=2) == 0.5  # at least one group
    assert bottom_percent_confidence(confidences, 25.0, window=2) == 1.5  # 2.5 groups -> 3
    assert bottom_percent_confidence(confidences, 10.05, window=2) == 1.0  # 1.005 -> 2
    assert bottom_percent_confidence(confidences, 30.000000002, window=2) == 1.5  # noise: 3
    with pytest.raises(ConfigError, match=r"^bottom percent 100\.5 is out of range"):
        bottom_percent_confidence(confidences, 100.5, window=2)
    # A trace shorter than the window is one group, whatever the percent.
    assert bottom_percent_confidence([2.0, 4.0], 10.0, window=8) == 3.0


def test_group_means_are_exact_again_after_each_window() -> None:
    # The running sum loses the small values next to 1e16; it is recomputed exactly at
    # the end of every window's worth of tokens, so no error survives past it.
    confidences = [0.0, 0.0, 0.0, 1.0, 1e16, 1.0]
    exact = [math.fsum(confidences[i : i + 3]) / 3 for i in range(4)]
    assert group_confidences(confidences, 3) == exact
    assert group_confidences([1.0, 2.0, 3.0], 3) == [2.0]


def test_monitor_means_are_exact_again_after_each_window() -> None:
    monitor = SlidingWindowMonitor(2, threshold=0.0)
    means = []
    for confidence in (0.0, 1e16, 0.0, 1.0):
        monitor.push(confidence)
        means.append(monitor.current)
    assert means == [None, 5e15, 5e15, 0.5]
