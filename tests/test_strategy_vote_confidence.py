"""DeepConf (Fu et al., 2025) token and trace confidence measures."""

from __future__ import annotations

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
